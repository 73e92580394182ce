import { Wallet } from "ethers";
import { relayTreasury, treasurySource } from "./relay-treasury";

const key = Wallet.createRandom();
const other = Wallet.createRandom().address;
const devKey = Wallet.createRandom();

describe("the relay treasury's key", () => {
  it("is the configured one; the dev chain's only when no treasury address is configured", () => {
    expect(treasurySource({ RELAY_TREASURY_PRIVATE_KEY: key.privateKey }, devKey.privateKey)).toEqual({ privateKey: key.privateKey, address: undefined });
    expect(treasurySource({ RELAY_TREASURY_KEY_FILE: "/etc/gx/treasury.key", RELAY_TREASURY_KEY_PASSWORD_FILE: "/etc/gx/pw" }, devKey.privateKey)).toMatchObject({ keyFile: "/etc/gx/treasury.key", passwordFile: "/etc/gx/pw" });
    expect(treasurySource({ RELAY_TREASURY_SIGNER_URL: "http://signer:8550", RELAY_TREASURY_ADDRESS: other }, undefined)).toEqual({ signerUrl: "http://signer:8550", address: other });
    expect(treasurySource({}, devKey.privateKey)).toEqual({ privateKey: devKey.privateKey });
    // a configured treasury address with no key of its own: the dev key is not its key, so its jobs go unsigned
    expect(treasurySource({ RELAY_TREASURY_ADDRESS: other }, devKey.privateKey)).toBeUndefined();
    expect(treasurySource({}, undefined)).toBeUndefined();
  });

  it("gives the key's address and a signer; refuses an address that is not the key's", async () => {
    const t = await relayTreasury({ RELAY_TREASURY_PRIVATE_KEY: key.privateKey }, undefined);
    expect(t.address).toBe(key.address);
    expect(await t.signer!.getAddress()).toBe(key.address);
    expect(await relayTreasury({ RELAY_TREASURY_ADDRESS: other }, { devTreasury: devKey.address, devTreasuryKey: devKey.privateKey })).toEqual({ address: other });
    expect((await relayTreasury({}, { devTreasury: devKey.address, devTreasuryKey: devKey.privateKey })).address).toBe(devKey.address);
    await expect(relayTreasury({ RELAY_TREASURY_PRIVATE_KEY: key.privateKey, RELAY_TREASURY_ADDRESS: other }, undefined)).rejects.toThrow(/not 0x/);
  });
});
