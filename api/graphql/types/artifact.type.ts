import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { BigIntScalar } from "../scalars";

export enum LogStream {
  STDOUT = "STDOUT",
  STDERR = "STDERR",
}
registerEnumType(LogStream, { name: "LogStream", description: "Which output of the workload a log line came from." });

@ObjectType({ description: "A file of the caller's: an input uploaded for jobs." })
export class Artifact {
  @Field(() => ID) id!: string;
  @Field({ description: "A relative path; the workload finds the input where its job's inputs put it." }) name!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field() sha256!: string;
  @Field({ description: "Whether its bytes arrived (size and sha256 checked)." }) stored!: boolean;
}

@ObjectType()
export class InputUpload {
  @Field(() => Artifact) artifact!: Artifact;
  @Field({
    description:
      "PUT the bytes here (signed, short-lived; with S3, straight to the store): refused unless size and sha256 are the declared ones. Bytes sent straight to the store count when submitJob names the input.",
  })
  uploadUrl!: string;
  @Field() expiresAt!: Date;
}

@ObjectType({ description: "An input file of a job, at GX_INPUT_DIR/<path>." })
export class JobInput {
  @Field(() => ID) artifactId!: string;
  @Field() path!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field() sha256!: string;
}

@ObjectType({ description: "An input of an assignment's job, for its node's agent to download." })
export class AssignmentInput {
  @Field() path!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field() sha256!: string;
  @Field({ description: "GET, no credentials (signed, short-lived); Range works." }) downloadUrl!: string;
}

@ObjectType({ description: "A file the winning replica wrote under GX_OUTPUT_DIR." })
export class JobOutput {
  @Field({ description: "Its path relative to GX_OUTPUT_DIR; the file GX_RESULT_FILE is named result." }) name!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field() sha256!: string;
  @Field(() => String, { nullable: true, description: "For the job's owner, while it is kept: GET (signed, short-lived; Range works)." }) downloadUrl!: string | null;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;
}

@ObjectType({ description: "An output an assignment reserved." })
export class AssignmentOutput {
  @Field() name!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field() sha256!: string;
  @Field() stored!: boolean;
}

@ObjectType()
export class OutputUpload {
  @Field({ description: "PUT the bytes here (signed, short-lived)." }) uploadUrl!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "Where the store takes the bytes itself (S3 with direct uploads): PUT them here, then PUT uploadUrl with `Content-Range: bytes */<size>` and no body, which counts them (201). Null: use uploadUrl.",
  })
  directUploadUrl!: string | null;
  @Field(() => AssignmentOutput) output!: AssignmentOutput;
}

@ObjectType({ description: "A line of a job's workload output (stdout other than protocol lines, and stderr)." })
export class LogLine {
  @Field(() => BigIntScalar, { description: "Grows by one per line of the job, from 1." }) seq!: bigint;
  @Field(() => ID) assignmentId!: string;
  @Field(() => LogStream) stream!: LogStream;
  @Field() line!: string;
  @Field() at!: Date;
}

@ObjectType()
export class AppendLogsResult {
  @Field(() => Int) accepted!: number;
  @Field(() => Int, { description: "Lines past the assignment's bound, not kept." }) dropped!: number;
  @Field({ description: "The bound is reached: stop sending." }) full!: boolean;
}
