import { GraphQLError, GraphQLScalarType, Kind } from "graphql";
import { formatDecimal, parseDecimal } from "../../pricing";

const formatted = new Map<bigint, string>();
const MAX_FORMATTED = 10_000;

/** formatDecimal with a bounded memo: the same prices are served over and over by book and offer reads. */
function formatCached(wei: bigint): string {
  let text = formatted.get(wei);
  if (text === undefined) {
    if (formatted.size >= MAX_FORMATTED) formatted.clear();
    text = formatDecimal(wei);
    formatted.set(wei, text);
  }
  return text;
}

/** OGPU amounts and prices: a decimal string in, bigint wei inside, the shortest decimal string out. */
export const DecimalScalar = new GraphQLScalarType<bigint, string>({
  name: "Decimal",
  description:
    'An amount of OGPU (or a price in OGPU per GPU-hour) as a decimal string with at most 18 fractional digits, in its shortest form: "1.5", "2", "0.000001". Never a float.',
  serialize(value) {
    if (typeof value !== "bigint") throw new GraphQLError("Decimal can only serialize bigint wei");
    return formatCached(value);
  },
  parseValue(value) {
    if (typeof value !== "string") throw new GraphQLError('Decimal is a string such as "1.5", not a number');
    return parseDecimal(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Decimal is a string such as "1.5", not a number');
    return parseDecimal(ast.value);
  },
});

const MAX_BIGINT_DIGITS = 78;
function toBigInt(value: unknown): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value) && value.length <= MAX_BIGINT_DIGITS) return BigInt(value);
  throw new GraphQLError(`BigInt is a whole number as a decimal string, e.g. "200820172034"; got ${JSON.stringify(value)?.slice(0, 40)}`);
}

/** Whole numbers past 32 bits (chain ids, byte sizes, block numbers, sequences) as decimal strings. */
export const BigIntScalar = new GraphQLScalarType<bigint, string>({
  name: "BigInt",
  description: 'A whole number as a decimal string, for values past 32 bits: chain ids ("200820172034"), byte sizes, block numbers, book sequences.',
  serialize(value) {
    if (typeof value === "bigint") return value.toString();
    return toBigInt(value).toString();
  },
  parseValue: toBigInt,
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT) return toBigInt(ast.value);
    throw new GraphQLError('BigInt is a whole number as a decimal string, e.g. "200820172034"');
  },
});
