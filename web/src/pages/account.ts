import { unitsToDecimal } from "@gpu-exchange/sdk";
import { amount, errorText, fill, h, statusLine, time } from "../dom";
import { myAccount, type Account, type SignedIn } from "../session";

/** The chain side (ethers, a large part of the bundle), loaded when the wallet is first used. */
const escrowContracts = async (...args: Parameters<typeof import("../escrow").escrowContracts>) => (await import("../escrow")).escrowContracts(...args);

/** Polls `read` until `done` holds of its value (the indexer mirrors a transaction a block or two later). */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, stopped: () => boolean): Promise<T | undefined> {
  for (let i = 0; i < 120 && !stopped(); i++) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

/** The client's escrow: what is deposited, held and available, and deposit and withdraw through the wallet. */
export function accountSection(s: SignedIn): { el: HTMLElement; refresh(): Promise<void>; stop(): void } {
  let stopped = false;
  let account: Account | undefined;
  let walletOgpu: bigint | undefined;
  const facts = h("dl", { class: "facts", id: "escrow" });
  const status = statusLine("escrow-status");
  const depositAmount = h("input", { id: "deposit-amount", name: "deposit", inputmode: "decimal", value: "100", required: true, size: 10 });
  const withdrawAmount = h("input", { id: "withdraw-amount", name: "withdraw", inputmode: "decimal", value: "10", required: true, size: 10 });
  const withdrawNow = h("button", { type: "button", class: "secondary", disabled: true }, "Withdraw requested amount");
  const draw = (a: Account) => {
    const e = a.escrow;
    fill(facts, ...([["Available", amount(e.available)], ["Held for jobs", amount(e.held)], ["Deposited", amount(e.deposited)], ["Withdrawing", amount(e.withdrawing)], ...(walletOgpu !== undefined ? [["In your wallet", amount(unitsToDecimal(walletOgpu))]] : [])] as [string, string][]).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, `${v} OGPU`)]), h("dt", {}, "Withdrawable at"), h("dd", {}, e.withdrawableAt ? time(e.withdrawableAt) : "no request pending"));
    withdrawNow.disabled = !(e.withdrawableAt && Date.parse(e.withdrawableAt) <= Date.now());
  };
  const refresh = async () => {
    account = await myAccount(s);
    draw(account);
    await readWallet();
  };
  /** The OGPU in the wallet itself, from the chain (shown once known; not the exchange's figure). */
  const readWallet = () => escrowContracts(s.client).then((c) => c.walletBalance()).then((b) => {
    walletOgpu = b;
    if (account) draw(account);
  }, () => undefined);
  const act = (label: string, run: () => Promise<void>, done: (a: Account) => boolean) => async (event: Event) => {
    event.preventDefault();
    const buttons = el.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      status.textContent = `${label}…`;
      await run();
      status.textContent = `${label}: sent; waiting for the chain's confirmation to reach the exchange…`;
      const seen = await until(() => myAccount(s), done, () => stopped);
      if (seen) draw((account = seen));
      void readWallet();
      status.textContent = seen ? `${label}: done.` : `${label}: sent, not yet shown by the exchange.`;
    } catch (e) {
      status.textContent = `${label} failed: ${errorText(e)}`;
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      if (account) draw(account);
    }
  };
  const before = () => account?.escrow;
  const el = h("section", { class: "card", "aria-labelledby": "escrow-h" },
    h("h2", { id: "escrow-h" }, "Escrow"), facts, status,
    h("form", { class: "row", "aria-label": "Deposit", onsubmit: act("Deposit", async () => {
      const c = await escrowContracts(s.client);
      await c.deposit(depositAmount.value, (what) => (status.textContent = what));
    }, (a) => a.escrow.deposited !== before()?.deposited) },
      h("label", { for: "deposit-amount" }, "Deposit (OGPU)", depositAmount), h("button", { type: "submit" }, "Deposit")),
    h("form", { class: "row", "aria-label": "Withdraw", onsubmit: act("Withdrawal request", async () => {
      await (await escrowContracts(s.client)).requestWithdraw(withdrawAmount.value);
    }, (a) => a.escrow.withdrawing !== before()?.withdrawing) },
      h("label", { for: "withdraw-amount" }, "Withdraw (OGPU)", withdrawAmount), h("button", { type: "submit", class: "secondary" }, "Request withdrawal"), withdrawNow),
    h("p", { class: "muted" }, "A withdrawal takes two steps: the request stops the amount counting as available at once; after the escrow's delay, withdraw pays it out."));
  withdrawNow.addEventListener("click", act("Withdrawal", async () => (await escrowContracts(s.client)).withdraw(), (a) => a.escrow.deposited !== before()?.deposited));
  void refresh().catch((e) => (status.textContent = errorText(e)));
  return { el, refresh, stop: () => (stopped = true) };
}
