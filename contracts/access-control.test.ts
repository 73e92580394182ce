import { Interface, id } from "ethers";
import type { Contract } from "ethers";
import { ROLES, abiOf } from "./index";
import type { ContractName } from "./index";
import { mined, revertOf, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

/**
 * Every state-changing function of the three contracts is listed here, either with the role it needs
 * (called by an account without roles, it must revert with AccessControlUnauthorizedAccount naming
 * that role) or as open to anyone. A function added to a contract without being listed fails the test.
 */
let f: ContractsFixture;
const STRANGER = 7;

beforeAll(async () => {
  f = await startContractsFixture();
});
afterAll(async () => {
  await f?.stop();
});

type Call = (c: Contract, stranger: string) => Promise<unknown>;

const guarded: Record<ContractName, Record<string, { role: string; call: Call }>> = {
  OGPUToken: {
    mint: { role: ROLES.MINTER_ROLE, call: (c, s) => c.mint(s, 1n) },
    grantRole: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c, s) => c.grantRole(ROLES.MINTER_ROLE, s) },
    revokeRole: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.revokeRole(ROLES.MINTER_ROLE, f.admin.address) },
  },
  Escrow: {
    setHolds: { role: ROLES.SETTLER_ROLE, call: (c, s) => c.setHolds([s], [0n]) },
    settle: {
      role: ROLES.SETTLER_ROLE,
      call: (c, s) => c.settle({ batchId: 1n, merkleRoot: id("root"), jobCount: 1, clients: [], debits: [], providers: [s], credits: [0n], lines: [], allowanceBits: [], nonceMarks: [] }),
    },
    setMinBond: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.setMinBond(1n) },
    setChallengeDeposit: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.setChallengeDeposit(1n) },
    releaseBond: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c, s) => c.releaseBond(s, s, 0n) },
    pause: { role: ROLES.PAUSER_ROLE, call: (c) => c.pause() },
    unpause: { role: ROLES.PAUSER_ROLE, call: (c) => c.unpause() },
    setFeeRecipient: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c, s) => c.setFeeRecipient(s) },
    setWithdrawDelay: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.setWithdrawDelay(0) },
    grantRole: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c, s) => c.grantRole(ROLES.SETTLER_ROLE, s) },
    revokeRole: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.revokeRole(ROLES.SETTLER_ROLE, f.admin.address) },
  },
  Staking: {
    slash: { role: ROLES.SLASHER_ROLE, call: (c) => c.slash(f.admin.address, 1n, id("x")) },
    pause: { role: ROLES.PAUSER_ROLE, call: (c) => c.pause() },
    unpause: { role: ROLES.PAUSER_ROLE, call: (c) => c.unpause() },
    setUnbondingPeriod: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.setUnbondingPeriod(1) },
    setMaxSlashBps: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.setMaxSlashBps(10_000) },
    setTreasury: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c, s) => c.setTreasury(s) },
    grantRole: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c, s) => c.grantRole(ROLES.SLASHER_ROLE, s) },
    revokeRole: { role: ROLES.DEFAULT_ADMIN_ROLE, call: (c) => c.revokeRole(ROLES.SLASHER_ROLE, f.admin.address) },
  },
};

/** Callable by anyone (renounceRole only for the caller's own roles). */
const open: Record<ContractName, string[]> = {
  OGPUToken: ["approve", "transfer", "transferFrom", "renounceRole"],
  // challenge, answer and resolveChallenge are open by design: anyone may defend a client (a watchtower)
  Escrow: ["deposit", "requestWithdraw", "withdraw", "payDebt", "claim", "claimTo", "renounceRole", "approveSpending", "postBond", "challenge", "answer", "resolveChallenge"],
  Staking: ["stake", "requestUnstake", "withdraw", "renounceRole"],
};

const names = Object.keys(guarded) as ContractName[];

function stateChanging(name: ContractName): string[] {
  const iface = new Interface(abiOf(name));
  const functions: string[] = [];
  iface.forEachFunction((fn) => {
    if (!fn.constant) functions.push(fn.name);
  });
  return functions.sort();
}

function contractOf(name: ContractName, index: number): Contract {
  return name === "OGPUToken" ? f.token(index) : name === "Escrow" ? f.escrow(index) : f.staking(index);
}

test.each(names)("%s: every state-changing function is listed", (name) => {
  expect(stateChanging(name)).toEqual([...Object.keys(guarded[name]), ...open[name]].sort());
});

describe.each(names)("%s", (name) => {
  test.each(Object.keys(guarded[name]))("%s reverts for an account without the role", async (fn) => {
    const { role, call } = guarded[name][fn];
    const stranger = f.signer(STRANGER).address;
    const revert = await revertOf(call(contractOf(name, STRANGER), stranger));
    expect(revert).toEqual({ name: "AccessControlUnauthorizedAccount", args: [stranger, role] });
  });
});

test("a role granted by the admin works, and revoking it takes it away", async () => {
  await f.reset();
  const stranger = f.signer(STRANGER).address;
  await mined(f.escrow(0).grantRole(ROLES.SETTLER_ROLE, stranger));
  await mined(f.escrow(STRANGER).setHolds([stranger], [0n]));
  await mined(f.escrow(0).revokeRole(ROLES.SETTLER_ROLE, stranger));
  expect((await revertOf(f.escrow(STRANGER).setHolds([stranger], [0n]))).name).toBe("AccessControlUnauthorizedAccount");
  expect((await revertOf(f.escrow(STRANGER).renounceRole(ROLES.SETTLER_ROLE, f.admin.address))).name).toBe(
    "AccessControlBadConfirmation",
  );
});

test("deployAll granted the roles it was asked to", async () => {
  const admin = f.admin.address;
  expect(await f.token().hasRole(ROLES.MINTER_ROLE, admin)).toBe(true);
  for (const c of [f.escrow(), f.staking()]) {
    expect(await c.hasRole(ROLES.DEFAULT_ADMIN_ROLE, admin)).toBe(true);
    expect(await c.hasRole(ROLES.PAUSER_ROLE, admin)).toBe(true);
  }
  expect(await f.escrow().hasRole(ROLES.SETTLER_ROLE, admin)).toBe(true);
  expect(await f.staking().hasRole(ROLES.SLASHER_ROLE, admin)).toBe(true);
  expect(await f.escrow().hasRole(ROLES.SETTLER_ROLE, f.signer(STRANGER).address)).toBe(false);
});
