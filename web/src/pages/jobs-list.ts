import { isFinalStatus, JobProgressDocument, MyJobsDocument } from "@gpu-exchange/sdk";
import { errorText, fill, h, percent, statusLine, time } from "../dom";
import type { SignedIn } from "../session";

/** A progress bar with its value in words (for screen readers and people alike). */
export function progressBar(id: string, value: number, label: string) {
  return h("progress", { id, max: 1, value, "aria-label": label, "data-value": value.toFixed(3) }, percent(value));
}

/** The client's jobs, newest first, with progress bars kept live over jobProgress while they run. */
export function jobsSection(s: SignedIn): { el: HTMLElement; stop(): void } {
  const body = h("tbody", { id: "jobs" });
  const status = statusLine("jobs-status", "Loading your jobs…");
  const stops: (() => void)[] = [];
  void s.client.request(MyJobsDocument, { first: 20 }).then(({ myJobs }) => {
    status.textContent = myJobs.edges.length ? "" : "No job yet.";
    fill(body, myJobs.edges.map(({ node: j }) => {
      const bar = progressBar(`progress-${j.id}`, j.progress, `Progress of job ${j.id}`);
      const state = h("td", {}, j.status);
      if (!isFinalStatus(j.status)) {
        stops.push(s.client.subscribe(JobProgressDocument, { jobId: j.id }, {
          next: ({ jobProgress: p }) => {
            bar.value = p.progress;
            bar.dataset.value = p.progress.toFixed(3);
            bar.textContent = percent(p.progress);
            state.textContent = p.status;
          },
        }));
      }
      return h("tr", {}, h("td", {}, h("a", { href: `/jobs/${encodeURIComponent(j.id)}`, "data-link": true }, j.id.slice(0, 8))), h("td", {}, j.kind), state, h("td", {}, bar), h("td", {}, time(j.createdAt)));
    }));
  }, (e) => (status.textContent = errorText(e)));
  const el = h("section", { class: "card", "aria-labelledby": "jobs-h" }, h("h2", { id: "jobs-h" }, "Your jobs"), status,
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ...["Job", "Kind", "Status", "Progress", "Submitted"].map((c) => h("th", { scope: "col" }, c)))), body)));
  return { el, stop: () => stops.forEach((f) => f()) };
}
