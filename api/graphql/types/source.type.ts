import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { JobKind } from "../enums";
import { EnvVarInput } from "../inputs/job.input";
import { EnvVar } from "./job.type";
import { PageInfo } from "./offer.type";

@InputType()
export class PublishSourceInput {
  @Field({ description: "Publishing a name again makes its next version." }) name!: string;
  @Field(() => JobKind) kind!: JobKind;
  @Field() image!: string;
  @Field(() => [String], { nullable: true }) command?: string[] | null;
  @Field(() => [EnvVarInput], { nullable: true, description: "Defaults; a job's own env wins per name." }) env?: EnvVarInput[] | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@ObjectType({ simpleResolvers: true, description: "A published workload: submitJob with its id takes its image, command and env defaults." })
export class Source {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => Int) version!: number;
  @Field(() => JobKind) kind!: JobKind;
  @Field() image!: string;
  @Field(() => [String], { nullable: true }) command!: string[] | null;
  @Field(() => [EnvVar], { nullable: true }) env!: EnvVar[] | null;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field() createdAt!: Date;
  ownerId!: string;
}

@ObjectType({ simpleResolvers: true })
export class SourceEdge {
  @Field() cursor!: string;
  @Field(() => Source) node!: Source;
}

@ObjectType({ simpleResolvers: true })
export class SourceConnection {
  @Field(() => [SourceEdge]) edges!: SourceEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
