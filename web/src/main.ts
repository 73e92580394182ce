import "./style.css";
import { errorText, fill, h } from "./dom";
import { clientPage } from "./pages/client";
import { jobPage } from "./pages/job";
import { marketPage } from "./pages/market";
import { marketsPage } from "./pages/markets";
import { providerPage } from "./pages/provider";
import { navigate } from "./nav";
import { connectWallet, disconnect, onSignedIn, restoreSession } from "./session";

/** A page: draws into `main` and returns what stops its feeds and timers when another page is shown. */
export type Page = (main: HTMLElement, params: string[]) => () => void;

const ROUTES: [RegExp, Page, string][] = [
  [/^\/$/, marketsPage, "Markets"],
  [/^\/market\/([^/]+)$/, marketPage, "Market"],
  [/^\/client$/, clientPage, "Client"],
  [/^\/jobs\/([^/]+)$/, jobPage, "Job"],
  [/^\/provider$/, providerPage, "Provider console"],
];

const main = document.getElementById("main")!;
let stop: (() => void) | undefined;

function show(path: string) {
  stop?.();
  stop = undefined;
  for (const [pattern, page, title] of ROUTES) {
    const m = pattern.exec(path);
    if (!m) continue;
    document.title = `${title} · gpu-exchange`;
    for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
      const here = a.getAttribute("href") === path || (a.getAttribute("href") === "/" && path.startsWith("/market/"));
      if (here) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    fill(main);
    stop = page(main, m.slice(1).map(decodeURIComponent));
    return;
  }
  fill(main, h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "/", "data-link": true }, "See the markets.")));
}


document.addEventListener("click", (event) => {
  const a = (event.target as Element).closest?.("a[data-link]") as HTMLAnchorElement | null;
  if (!a || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(a.getAttribute("href")!);
});
window.addEventListener("popstate", () => {
  show(location.pathname);
  main.focus({ preventScroll: true });
});

const walletBox = document.getElementById("wallet")!;
onSignedIn((s) => {
  if (s) {
    fill(walletBox, h("span", { class: "address", title: s.address }, `${s.address.slice(0, 6)}…${s.address.slice(-4)}`), h("button", { type: "button", class: "link", onclick: () => disconnect() }, "Disconnect"));
    return;
  }
  const problem = h("span", { class: "error", role: "alert" });
  const button = h("button", { type: "button", onclick: () => {
    button.disabled = true;
    problem.textContent = "";
    connectWallet().catch((e) => (problem.textContent = errorText(e))).finally(() => (button.disabled = false));
  } }, "Connect wallet");
  fill(walletBox, button, problem);
});

restoreSession();
show(location.pathname);
