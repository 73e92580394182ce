/**
 * Seeds a book for the matching benchmark straight into Postgres (as many offers as asked, in one statement per
 * table): providers with random reputation records, one online node per offer, offers in four markets over the
 * 16 regions, asks from 1.000 to 2.999 OGPU per GPU-hour. Jobs of the bench ask for A100 80GB at most 2 OGPU.
 */
import type { Client } from "pg";
import { REGIONS } from "../matching";

export const BENCH_MARKETS = [
  { id: "A100-80GB", gpuModel: "A100", vramGb: 80, model: "NVIDIA A100 80GB PCIe" },
  { id: "H100-80GB", gpuModel: "H100", vramGb: 80, model: "NVIDIA H100 80GB HBM3" },
  { id: "L40S-48GB", gpuModel: "L40S", vramGb: 48, model: "NVIDIA L40S" },
  { id: "RTX4090-24GB", gpuModel: "RTX4090", vramGb: 24, model: "NVIDIA GeForce RTX 4090" },
];

/** GPUs per seeded offer. */
export const GPUS_PER_OFFER = 64;

/** Inserts `offers` open offers (one node each, `providers` providers). Returns the GPUs a bench job can use. */
export async function seedBook(pg: Client, offers: number, providers = 200): Promise<number> {
  await pg.query(
    `INSERT INTO accounts (address, completed_jobs, failed_jobs, expired_jobs)
     SELECT '0xbe' || lpad(to_hex(g), 38, '0'), (random() * 60)::int, (random() * 6)::int, (random() * 3)::int FROM generate_series(1, $1) g`,
    [providers],
  );
  for (const m of BENCH_MARKETS) {
    await pg.query(`INSERT INTO markets (id, gpu_model, vram_gb) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, [m.id, m.gpuModel, m.vramGb]);
  }
  const groups = BENCH_MARKETS.map((m) => JSON.stringify([{ model: m.model, vramGb: m.vramGb, count: GPUS_PER_OFFER, market: m.id }]));
  await pg.query(
    `WITH p AS (SELECT array_agg(id ORDER BY address) AS ids FROM accounts WHERE address LIKE '0xbe%')
     INSERT INTO nodes (provider_id, name, region, gpus, last_heartbeat_at, measured_latency_ms)
     SELECT p.ids[1 + g % array_length(p.ids, 1)], 'bench-' || g, ($2::text[])[1 + g % array_length($2::text[], 1)],
            ($3::jsonb[])[1 + g % 4], now(), CASE WHEN g % 3 = 0 THEN 5 + (g % 120) ELSE NULL END
       FROM generate_series(0, $1 - 1) g, p`,
    [offers, REGIONS.map((r) => r.id), groups],
  );
  await pg.query(
    `INSERT INTO offers (node_id, provider_id, market, gpu_model, vram_gb, region, price_wei, gpu_count, available_gpus)
     SELECT n.id, n.provider_id, n.gpus->0->>'market', split_part(n.gpus->0->>'market', '-', 1), (n.gpus->0->>'vramGb')::int, n.region,
            (1000 + floor(random() * 2000)) * 10::numeric ^ 15, $1, $1
       FROM nodes n WHERE n.name LIKE 'bench-%'`,
    [GPUS_PER_OFFER],
  );
  await pg.query(`ANALYZE offers; ANALYZE nodes; ANALYZE accounts`);
  const { rows } = await pg.query(`SELECT coalesce(sum(available_gpus), 0)::int AS gpus FROM offers WHERE market = 'A100-80GB' AND price_wei <= 2 * 10::numeric ^ 18`);
  return rows[0].gpus;
}
