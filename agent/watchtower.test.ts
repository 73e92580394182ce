import pino from "pino";
import type { GraphqlClient } from "./client";
import { CreditWatchtower, type CreditChallenge, type WatchtowerChain } from "./watchtower";

const ESCROW = "0x00000000000000000000000000000000000000e5";
const PROVIDER = "0x00000000000000000000000000000000000000a1";

function challenge(batchId: string, over: Partial<CreditChallenge> = {}): CreditChallenge {
  return { batchId, clientIndex: 0, client: "0x00000000000000000000000000000000000000c1", deadline: "9999999999", escrow: ESCROW, debit: "0.6", answerCalldata: `0xabcd${batchId}`, answerOrders: 1, unanswerable: null, ...over };
}

/** An API that lists `open` (changed by the test between checks) and a chain where `closed` challenges are no longer open. */
function world(open: CreditChallenge[]) {
  const asked: Record<string, unknown>[] = [];
  const sent: { to: string; data: string }[] = [];
  const closed = new Set<string>();
  const refuse = new Set<string>();
  const client = {
    request: async (name: string, variables: Record<string, unknown>) => {
      expect(name).toBe("CreditChallenges");
      asked.push(variables);
      return { settlementChallenges: open };
    },
  } as unknown as GraphqlClient;
  const chain: WatchtowerChain = {
    isOpen: async (_escrow, batchId) => !closed.has(batchId.toString()),
    send: async (to, data) => {
      if (refuse.has(data)) throw new Error("execution reverted: NoOpenChallenge");
      sent.push({ to, data });
      return `0xtx${sent.length}`;
    },
  };
  return { client, chain, asked, sent, closed, refuse };
}

describe("the agent's watchtower", () => {
  it("gives the marketplace one check to answer, then answers a challenge still open itself, once", async () => {
    const open = [challenge("7")];
    const w = world(open);
    let now = 1000;
    const tower = new CreditWatchtower({ client: w.client, chain: w.chain, provider: PROVIDER, logger: pino({ level: "silent" }), now: () => now });
    expect([...(await tower.check())]).toEqual([["7:0", "waiting"]]);
    expect(w.sent).toEqual([]);
    expect(w.asked).toEqual([{ provider: PROVIDER }]);
    now += 30_000;
    expect([...(await tower.check())]).toEqual([["7:0", "answered"]]);
    expect(w.sent).toEqual([{ to: ESCROW, data: "0xabcd7" }]);
    // answered: the chain says it is closed, nothing is sent again
    w.closed.add("7");
    now += 30_000;
    expect([...(await tower.check())]).toEqual([["7:0", "closed"]]);
    expect(w.sent).toHaveLength(1);
  });

  it("leaves a challenge the marketplace answered in the meantime, says an unanswerable one, and goes on after a refused answer", async () => {
    const open = [challenge("1"), challenge("2", { answerCalldata: null, answerOrders: 0, unanswerable: "the entry's signed orders do not cover its debit" }), challenge("3")];
    const w = world(open);
    let now = 0;
    const lines: string[] = [];
    const logger = pino({ level: "error" }, { write: (l: string) => void lines.push(l) });
    const tower = new CreditWatchtower({ client: w.client, chain: w.chain, provider: PROVIDER, logger, now: () => now });
    await tower.check();
    w.closed.add("1");
    w.refuse.add("0xabcd3");
    now += 1;
    expect(Object.fromEntries(await tower.check())).toEqual({ "1:0": "closed", "2:0": "unanswerable", "3:0": "refused" });
    now += 1;
    await tower.check();
    // the unanswerable one is said once, the refused answer each time it is tried
    expect(lines.filter((l) => l.includes("cannot be answered"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("refused the answer"))).toHaveLength(2);
    expect(w.sent).toEqual([]);
  });

  it("forgets a challenge that is no longer listed: seen again later, it waits one check again", async () => {
    const open = [challenge("5")];
    const w = world(open);
    let now = 0;
    const tower = new CreditWatchtower({ client: w.client, chain: w.chain, provider: PROVIDER, logger: pino({ level: "silent" }), now: () => now });
    await tower.check();
    open.length = 0;
    now += 1;
    await tower.check();
    open.push(challenge("5"));
    now += 1;
    expect([...(await tower.check())]).toEqual([["5:0", "waiting"]]);
  });
});
