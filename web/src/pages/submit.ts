import { MarketsDocument, QuoteDocument, SubmitJobDocument, SubmitJobWithInputsDocument, uploadInput, type JobKind, type JobRequirementsInput, type MarketsQuery } from "@gpu-exchange/sdk";
import { amount, duration, errorText, fill, h, statusLine } from "../dom";
import { navigate } from "../nav";
import { publicClient, type SignedIn } from "../session";

const KINDS: JobKind[] = ["BATCH", "TRAINING", "FINE_TUNING", "INFERENCE", "EMBEDDINGS", "IMAGE_GENERATION", "RENDERING", "TRANSCODING", "OTHER"];

function field(id: string, label: string, control: HTMLElement, hint?: string) {
  return h("label", { for: id }, label, hint ? h("small", { id: `${id}-hint` }, hint) : null, control);
}

/** The submit form: requirements with a live quote (cost, expected wait, why offers were passed over), then submitJob. */
export function submitSection(s: SignedIn): { el: HTMLElement; stop(): void } {
  let markets: MarketsQuery["markets"] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  const market = h("select", { id: "job-market", name: "market", required: true });
  const gpus = h("input", { id: "job-gpus", name: "gpus", type: "number", min: 1, max: 64, value: 1, required: true });
  const price = h("input", { id: "job-price", name: "price", inputmode: "decimal", value: "3", required: true, "aria-describedby": "job-price-hint" });
  const seconds = h("input", { id: "job-duration", name: "duration", type: "number", min: 60, value: 600, required: true });
  const kind = h("select", { id: "job-kind", name: "kind" }, KINDS.map((k) => h("option", { value: k }, k)));
  const command = h("textarea", { id: "job-command", name: "command", rows: 3, required: true, "aria-describedby": "job-command-hint", spellcheck: "false" });
  const file = h("input", { id: "job-input", name: "input", type: "file" });
  const quote = h("div", { class: "quote", id: "quote", "aria-live": "polite" }, "Choose a market for a quote.");
  const status = statusLine("submit-status");

  const requirements = (): JobRequirementsInput | undefined => {
    const mk = markets.find((x) => x.id === market.value);
    if (!mk) return undefined;
    return { gpuCount: Number(gpus.value) || 1, minVramGb: mk.vramGb, gpuModels: [mk.gpuModel], maxPricePerGpuHour: price.value.trim() || undefined, maxDurationSeconds: Number(seconds.value) || 600 };
  };
  const requote = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const input = requirements();
      if (!input) return;
      const mine = ++asked;
      try {
        const { quote: q } = await publicClient.request(QuoteDocument, { input });
        if (mine !== asked) return;
        fill(quote,
          h("p", {}, q.matchingOffers ? `${q.matchingOffers} ${q.matchingOffers === 1 ? "offer matches" : "offers match"}, from ${amount(q.bestPricePerGpuHour)} OGPU per GPU-hour.` : "No offer matches these requirements now: the job would rest on the book until one does."),
          h("dl", { class: "facts" }, h("dt", {}, "Estimated cost"), h("dd", { id: "quote-cost" }, `${amount(q.estimatedCost)} OGPU`), h("dt", {}, "Held at most"), h("dd", {}, `${amount(q.maxCost)} OGPU`), h("dt", {}, "Expected wait"), h("dd", { id: "quote-wait" }, duration(q.expectedWaitSeconds))),
          q.excluded.length ? h("div", {}, h("p", {}, "Why other offers do not match:"), h("ul", { id: "quote-excluded" }, q.excluded.map((x) => h("li", {}, x.message)))) : null);
      } catch (e) {
        if (mine === asked) fill(quote, `No quote: ${errorText(e)}`);
      }
    }, 250);
  };
  for (const input of [market, gpus, price, seconds]) input.addEventListener("input", requote);

  const submit = async (event: Event) => {
    event.preventDefault();
    const req = requirements();
    const argv = command.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (!req || !argv.length) return void (status.textContent = "Choose a market and give a command.");
    const button = form.querySelector("button")!;
    button.disabled = true;
    try {
      const base = { kind: kind.value as JobKind, command: argv, requirements: req };
      const chosen = file.files?.[0];
      let id: string;
      if (chosen) {
        const up = await uploadInput(s.client, { name: chosen.name, body: chosen }, { onProgress: (p) => (status.textContent = `Uploading ${chosen.name}: ${Math.round((100 * p.bytes) / (p.totalBytes || 1))}%`) });
        id = (await s.client.request(SubmitJobWithInputsDocument, { input: { ...base, inputs: [{ artifactId: up.artifactId, path: up.name }] } })).submitJob.id;
      } else {
        id = (await s.client.request(SubmitJobDocument, { input: base })).submitJob.id;
      }
      navigate(`/jobs/${encodeURIComponent(id)}`);
    } catch (e) {
      status.textContent = `Not submitted: ${errorText(e)}`;
      button.disabled = false;
    }
  };
  const form = h("form", { class: "stack", "aria-labelledby": "submit-h", onsubmit: submit },
    h("div", { class: "row" }, field("job-market", "Market", market), field("job-gpus", "GPUs", gpus), field("job-kind", "Kind", kind)),
    h("div", { class: "row" }, field("job-price", "Max price", price, "OGPU per GPU-hour"), field("job-duration", "Max duration (s)", seconds)),
    field("job-command", "Command", command, "One argument per line, run on the provider's machine; write outputs under $GX_OUTPUT_DIR."),
    field("job-input", "Input file (optional)", file),
    quote, h("div", {}, h("button", { type: "submit" }, "Submit job")), status);
  const el = h("section", { class: "card", "aria-labelledby": "submit-h" }, h("h2", { id: "submit-h" }, "Submit a job"), form);
  void publicClient.request(MarketsDocument, {}).then(({ markets: list }) => {
    markets = list;
    fill(market, h("option", { value: "" }, "Choose a market"), list.map((x) => h("option", { value: x.id }, `${x.id} (${x.availableGpus} free GPUs, from ${amount(x.bestAsk)})`)));
  }, (e) => (status.textContent = errorText(e)));
  return { el, stop: () => clearTimeout(timer) };
}
