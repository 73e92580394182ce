import { compileContracts, staleFiles } from "./compile";

test("the committed ABIs and artifacts match the Solidity sources", () => {
  const { files } = compileContracts();
  expect([...files.keys()].sort()).toEqual([
    "abi/Escrow.json",
    "abi/OGPUToken.json",
    "abi/Staking.json",
    "artifacts/Escrow.json",
    "artifacts/OGPUToken.json",
    "artifacts/Staking.json",
  ]);
  expect(staleFiles(files)).toEqual([]);
  expect(compileContracts().files).toEqual(files);
}, 60_000);
