import { fill, h } from "../dom";
import { onSignedIn } from "../session";
import { accountSection } from "./account";
import { jobsSection } from "./jobs-list";
import { submitSection } from "./submit";

/** The client's page: escrow, the submit form with its live quote, and the jobs. Needs a connected wallet. */
export function clientPage(main: HTMLElement): () => void {
  let stops: (() => void)[] = [];
  const off = onSignedIn((s) => {
    stops.forEach((f) => f());
    stops = [];
    if (!s) {
      fill(main, h("h1", {}, "Client"), h("p", { class: "lead" }, "Connect your wallet (top right) to deposit into the escrow, submit jobs and follow them."));
      return;
    }
    const parts = [accountSection(s), submitSection(s), jobsSection(s)];
    stops = parts.map((p) => p.stop);
    fill(main, h("h1", {}, "Client"), ...parts.map((p) => p.el));
  });
  return () => {
    off();
    stops.forEach((f) => f());
  };
}
