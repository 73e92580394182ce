import { applyEvent, emptyState, replay, touches, undoEvent, type Undo } from "./ledger";

const client = "0x00000000000000000000000000000000000000c1";
const provider = "0x00000000000000000000000000000000000000a1";
const ev = (name: string, args: Record<string, string>) => ({ name, args });

describe("the ledger", () => {
  it("mirrors escrow, holds and stakes by the contracts' rules", () => {
    const states = replay([
      ev("Deposited", { client, amount: "1000" }),
      ev("WithdrawRequested", { client, amount: "400", unlockAt: "5000" }),
      ev("HoldsUpdated", { client, held: "300" }),
      ev("Debited", { client, amount: "100", newHeld: "200" }),
      ev("DebtRecorded", { client, amount: "70" }),
      ev("Withdrawn", { client, amount: "400" }),
      ev("DebtPaid", { client, amount: "20" }),
      ev("DebtRecorded", { client, amount: "15" }),
      ev("DebtCancelled", { debtId: "3", batchId: "9", client, amount: "15", newDebt: "50" }),
      ev("Staked", { provider, amount: "100" }),
      ev("UnstakeRequested", { provider, amount: "30", unlockAt: "9000" }),
      ev("Slashed", { provider, amount: "80" }),
      ev("Credited", { account: provider, amount: "5" }),
    ]);
    expect(states.get(client)).toEqual({ ...emptyState(), deposited: 600n, debt: 50n, held: 200n });
    // 80 slashed: all 70 staked, then 10 of the 30 unbonding (its unlock time stays while some is left)
    expect(states.get(provider)).toEqual({ ...emptyState(), staked: 0n, unbonding: 20n, slashed: 80n, stakeUnlockAt: 9000n });
  });

  it("a withdrawal request of 0 cancels with no unlock time; a stake withdrawal that empties unbonding clears it", () => {
    const s = replay([ev("WithdrawRequested", { client, amount: "5", unlockAt: "10" }), ev("WithdrawRequested", { client, amount: "0", unlockAt: "0" })]).get(client);
    expect(s).toMatchObject({ withdrawing: 0n, withdrawUnlockAt: null });
    const p = replay([ev("Staked", { provider, amount: "10" }), ev("UnstakeRequested", { provider, amount: "10", unlockAt: "77" }), ev("Withdrawn", { provider, amount: "10" })]).get(provider);
    expect(p).toMatchObject({ staked: 0n, unbonding: 0n, stakeUnlockAt: null });
  });

  it("undoing events newest first restores every earlier state exactly", () => {
    const events = [
      ev("Deposited", { client, amount: "9" }),
      ev("WithdrawRequested", { client, amount: "4", unlockAt: "50" }),
      ev("Withdrawn", { client, amount: "4" }),
      ev("HoldsUpdated", { client, held: "3" }),
      ev("HoldsUpdated", { client, held: "1" }),
    ];
    const s = emptyState();
    const seen = [{ ...s }];
    const undos: Undo[] = [];
    for (const e of events) {
      undos.push(applyEvent(s, e)!);
      seen.push({ ...s });
    }
    for (let i = events.length - 1; i >= 0; i--) {
      undoEvent(s, undos[i]);
      expect(s).toEqual(seen[i]);
    }
  });

  it("tells escrow's Withdrawn (a client) from staking's (a provider), and ignores what it does not mirror", () => {
    expect(touches(ev("Withdrawn", { client: client.toUpperCase().replace("0X", "0x"), amount: "1" }))).toEqual({ address: client, family: "escrow" });
    expect(touches(ev("Withdrawn", { provider, amount: "1" }))).toEqual({ address: provider, family: "stake" });
    expect(touches(ev("Claimed", { account: client, to: client, amount: "1" }))).toBeUndefined();
    expect(applyEvent(emptyState(), ev("BatchSettled", { batchId: "1" }))).toBeUndefined();
  });
});
