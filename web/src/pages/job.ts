import { CancelJobDocument, followJob, isFinalStatus, JobPageDocument, type JobOutputs, type JobPageQuery } from "@gpu-exchange/sdk";
import { amount, errorText, fill, h, percent, statusLine, time } from "../dom";
import { onSignedIn, type SignedIn } from "../session";
import { progressBar } from "./jobs-list";

type Job = JobPageQuery["job"];

const bytes = (n: string | number) => (Number(n) < 1024 ? `${n} B` : Number(n) < 1048576 ? `${(Number(n) / 1024).toFixed(1)} KiB` : `${(Number(n) / 1048576).toFixed(1)} MiB`);

function outputsList(outputs: JobOutputs) {
  return h("section", { "aria-labelledby": "outputs-h" }, h("h2", { id: "outputs-h" }, "Result and outputs"),
    outputs.result ? h("p", {}, "Result hash ", h("code", {}, outputs.result.hash), ` agreed by ${outputs.result.agreedBy} replica(s). `, outputs.result.downloadUrl ? h("a", { href: outputs.result.downloadUrl, download: "manifest.txt" }, "Manifest") : null) : h("p", {}, "No result."),
    outputs.outputs.length ? h("ul", { id: "outputs" }, outputs.outputs.map((o) => h("li", {}, o.downloadUrl ? h("a", { href: o.downloadUrl, download: o.name.split("/").pop()! }, o.name) : o.name, ` (${bytes(o.sizeBytes)}, sha256 ${o.sha256.slice(0, 12)}…)`))) : null);
}

/** One job: live progress and status, the logs as they come, checkpoints, the cost, then the result and its outputs. */
function jobView(main: HTMLElement, s: SignedIn, id: string): () => void {
  const abort = new AbortController();
  const bar = progressBar("job-progress", 0, "Job progress");
  const state = h("span", { id: "job-status" }, "…");
  const message = h("span", { class: "muted", id: "job-message" });
  const facts = h("dl", { class: "facts" });
  const excluded = h("div", { id: "job-excluded" });
  const checkpoints = h("tbody", { id: "checkpoints" });
  const logs = h("pre", { class: "logs", id: "logs", tabindex: 0, "aria-label": "Logs", "aria-live": "off" });
  const outputs = h("div", { id: "job-outputs" });
  const status = statusLine("job-page-status");
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => void s.client.request(CancelJobDocument, { id }).then(() => load(), (e) => (status.textContent = errorText(e))) }, "Cancel job");
  const draw = (j: Job) => {
    state.textContent = j.status;
    bar.value = j.progress;
    bar.dataset.value = j.progress.toFixed(3);
    cancel.hidden = isFinalStatus(j.status);
    fill(facts, ...([["Kind", j.kind], ["Submitted", time(j.createdAt)], ["Ended", time(j.endedAt)], ["GPUs", `${j.requirements.gpuCount} × ${j.requirements.gpuModels?.join(", ") ?? "any"} ≥ ${j.requirements.minVramGb} GB`], ["Max price", `${amount(j.maxPricePerGpuHour)} OGPU per GPU-hour`], ["Held", `${amount(j.hold)} OGPU`], ["Cost", j.cost ? `${amount(j.cost)} OGPU` : "–"], ["Command", (j.command ?? []).join(" ")]] as [string, string][]).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    fill(excluded, j.excluded?.length ? [h("h2", {}, "Why it has not matched yet"), h("ul", {}, j.excluded.map((x) => h("li", {}, x.message)))] : []);
    fill(checkpoints, j.checkpoints.length ? j.checkpoints.map((c) => h("tr", {}, h("td", { class: "num" }, c.step), h("td", {}, bytes(c.sizeBytes)), h("td", {}, h("code", {}, c.sha256.slice(0, 16))), h("td", {}, time(c.createdAt)))) : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No checkpoint yet.")));
  };
  let loading: Promise<void> | undefined;
  const load = () => (loading ??= s.client.request(JobPageDocument, { id }, { signal: abort.signal }).then(({ job }) => draw(job), (e) => void (status.textContent = errorText(e))).finally(() => (loading = undefined)));
  fill(main, h("h1", {}, "Job ", h("code", {}, id.slice(0, 8))),
    h("p", {}, "Status: ", state, " ", message), bar, h("p", { class: "muted", id: "job-percent" }, ""), cancel, status, facts, excluded,
    h("section", { "aria-labelledby": "logs-h" }, h("h2", { id: "logs-h" }, "Logs"), logs),
    h("section", { "aria-labelledby": "cp-h" }, h("h2", { id: "cp-h" }, "Checkpoints"), h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ...["Step", "Size", "sha256", "At"].map((c, i) => h("th", { scope: "col", class: i === 0 ? "num" : "" }, c)))), checkpoints))),
    outputs);
  void load();
  // checkpoints and the cost change without a progress event: read them again now and then while the job runs
  const poll = setInterval(() => state.textContent && !isFinalStatus(state.textContent as Job["status"]) && void load(), 3000);
  followJob(s.client, id, {
    signal: abort.signal,
    onProgress: (p) => {
      bar.value = p.progress;
      bar.dataset.value = p.progress.toFixed(3);
      state.textContent = p.status;
      message.textContent = p.message && p.message.toLowerCase() !== p.status.toLowerCase() ? `(${p.message})` : "";
      main.querySelector("#job-percent")!.textContent = `${percent(p.progress)} done`;
      void load();
    },
    onLog: (line) => {
      const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      logs.append(h("span", { class: line.stream === "STDERR" ? "stderr" : "" }, `${line.line}\n`));
      if (atBottom) logs.scrollTop = logs.scrollHeight;
    },
  }).then((out) => {
    void load();
    fill(outputs, outputsList(out));
  }, (e) => {
    if (!abort.signal.aborted) status.textContent = `Stopped following: ${errorText(e)}`;
  });
  return () => {
    clearInterval(poll);
    abort.abort();
  };
}

export function jobPage(main: HTMLElement, [id]: string[]): () => void {
  let stop: (() => void) | undefined;
  const off = onSignedIn((s) => {
    stop?.();
    stop = undefined;
    if (s) stop = jobView(main, s, id!);
    else fill(main, h("h1", {}, "Job"), h("p", { class: "lead" }, "Connect the wallet that submitted this job (top right) to follow it."));
  });
  return () => {
    off();
    stop?.();
  };
}
