import express from "express";
import type { AddressInfo } from "node:net";
import { settlementAdminRoutes } from "../api/http/admin";
import { conflict } from "../api/services/errors";
import { runAdmin } from "./admin";

it("rebatch <batchId> asks the server to re-batch a settlement batch, and prints why when it refuses", async () => {
  const asked: string[] = [];
  const settlements = {
    async rebatch(id: string) {
      asked.push(id);
      if (id === "8") throw conflict("batch 8 is CONFIRMED: nothing to re-batch");
      return { batchId: BigInt(id), action: "rebatched", into: [11n, 12n] };
    },
  };
  const admin = { user: "ops", password: "a-long-password" };
  const server = express().use(settlementAdminRoutes(settlements, admin)).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const env = { GX_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ADMIN_USER: admin.user, ADMIN_PASSWORD: admin.password };
  const ok = await runAdmin(["rebatch", "7"], env);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.output)).toEqual({ batchId: "7", action: "rebatched", into: ["11", "12"] });
  const refused = await runAdmin(["rebatch", "8"], env);
  expect(refused.code).toBe(1);
  expect(JSON.parse(refused.output).error).toEqual({ code: "CONFLICT", message: "batch 8 is CONFIRMED: nothing to re-batch" });
  expect((await runAdmin(["rebatch", "7"], { ...env, ADMIN_PASSWORD: "wrong-password!" })).code).toBe(1);
  expect((await runAdmin(["rebatch"], env)).code).toBe(2);
  expect(asked).toEqual(["7", "8"]);
  await new Promise((r) => server.close(r));
});
