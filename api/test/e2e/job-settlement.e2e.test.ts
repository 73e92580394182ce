import { actor, insertCharge } from "../builders";
import { gql, startTestServer, type TestServer } from "../harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const MY_JOBS = `query { myJobs(first: 20) { edges { node { id settlement { batchId amount } } } } }`;

it("reads the settlement of every job of a page in one query, each job with its own line or none", async () => {
  const client = await actor(server);
  const provider = await actor(server);
  const db = server.system.db;
  const jobs: string[] = [];
  for (let i = 1; i <= 6; i++) jobs.push(await insertCharge(db, client.wallet.address, provider.wallet.address, BigInt(i) * 10n ** 17n));
  // the first four in one confirmed batch, the fifth in one only submitted (not settled yet), the sixth in none
  const batch = async (status: string, jobIds: string[]) => {
    const [s] = await db.query(
      `INSERT INTO settlements (chain_id, escrow, status, job_count, total_amount, fee_amount, merkle_root, payload) VALUES (31337, $1, $2, $3, 0, 0, $4, '{}') RETURNING batch_id`,
      [`0x${"e".repeat(40)}`, status, jobIds.length, `0x${"0".repeat(64)}`],
    );
    await db.query(`UPDATE charges SET settlement_batch = $1 WHERE job_id = ANY($2)`, [s.batch_id, jobIds]);
    return String(s.batch_id);
  };
  const confirmed = await batch("CONFIRMED", jobs.slice(0, 4));
  await batch("SUBMITTED", [jobs[4]]);

  const reads = jest.spyOn(server.system.services.settlements, "ofJobs");
  const r = await gql(server.url, MY_JOBS, {}, client.token);
  expect(r.errors).toBeUndefined();
  // one read for the page (it was one per job)
  expect(reads).toHaveBeenCalledTimes(1);
  expect([...reads.mock.calls[0][0]].sort()).toEqual([...jobs].sort());
  reads.mockRestore();
  const byId = new Map(r.data!.myJobs.edges.map((e: { node: { id: string; settlement: unknown } }) => [e.node.id, e.node.settlement]));
  expect(jobs.map((id) => byId.get(id))).toEqual([
    { batchId: confirmed, amount: "0.1" },
    { batchId: confirmed, amount: "0.2" },
    { batchId: confirmed, amount: "0.3" },
    { batchId: confirmed, amount: "0.4" },
    null,
    null,
  ]);
});
