import { Field, ID, InputType } from "type-graphql";
import { LogStream } from "../types/artifact.type";
import { BigIntScalar } from "../scalars";

@InputType()
export class CreateInputUploadInput {
  @Field({ description: "A relative path (no .., no leading /), at most 255 bytes." }) name!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field({ description: "64 lowercase hex digits." }) sha256!: string;
}

@InputType()
export class JobInputInput {
  @Field(() => ID) artifactId!: string;
  @Field({ description: "Where the workload finds it: GX_INPUT_DIR/<path>." }) path!: string;
}

@InputType()
export class LogLineInput {
  @Field(() => LogStream) stream!: LogStream;
  @Field() line!: string;
  @Field(() => Date, { nullable: true }) at?: Date | null;
}
