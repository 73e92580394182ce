import fc from "fast-check";
import { relatedGroups, type AccountAddress } from "./parties";

describe("relatedGroups", () => {
  it("puts accounts that share an address in one group named by its least id, case-insensitively", () => {
    const groups = relatedGroups(["a", "b", "c", "d"], [
      { accountId: "b", address: "0xAAAA" },
      { accountId: "c", address: "0xaaaa" },
      { accountId: "d", address: "0xdddd" },
    ]);
    expect(Object.fromEntries(groups)).toEqual({ a: "a", b: "b", c: "b", d: "d" });
  });

  it("is transitive: a chain of shared addresses is one group", () => {
    const groups = relatedGroups([], [
      { accountId: "z", address: "0x1" },
      { accountId: "y", address: "0x1" },
      { accountId: "y", address: "0x2" },
      { accountId: "x", address: "0x2" },
      { accountId: "w", address: "0x3" },
    ]);
    expect(Object.fromEntries(groups)).toEqual({ z: "x", y: "x", x: "x", w: "w" });
  });

  it("does not depend on the order of the links, and relates exactly the accounts joined by shared addresses", () => {
    const link = fc.record({ accountId: fc.constantFrom("a", "b", "c", "d", "e", "f"), address: fc.constantFrom("0x1", "0x2", "0x3", "0X3", "0x4") });
    fc.assert(
      fc.property(
        fc.array(link, { maxLength: 12 }).chain((links) => fc.tuple(fc.constant(links), fc.shuffledSubarray(links, { minLength: links.length, maxLength: links.length }))),
        ([links, shuffled]) => {
          const groups = relatedGroups(["a", "f"], links);
          expect(relatedGroups(["f", "a"], shuffled)).toEqual(groups);
          // the closure by search: accounts reachable through accounts whose address sets meet
          const addresses = new Map<string, Set<string>>();
          for (const id of ["a", "f", ...links.map((l) => l.accountId)]) addresses.set(id, addresses.get(id) ?? new Set());
          links.forEach((l: AccountAddress) => addresses.get(l.accountId)!.add(l.address.toLowerCase()));
          const ids = [...addresses.keys()];
          const related = (x: string, y: string) => [...addresses.get(x)!].some((addr) => addresses.get(y)!.has(addr));
          const reachable = (from: string) => {
            const seen = new Set([from]);
            for (const queue = [from]; queue.length > 0; ) {
              const x = queue.pop()!;
              for (const y of ids) if (!seen.has(y) && related(x, y)) {
                  seen.add(y);
                  queue.push(y);
                }
            }
            return seen;
          };
          const reach = new Map(ids.map((id) => [id, reachable(id)]));
          for (const x of ids) {
            expect(groups.get(x)).toBe([...reach.get(x)!].sort()[0]);
            for (const y of ids) expect(groups.get(x) === groups.get(y)).toBe(reach.get(x)!.has(y));
          }
        },
      ),
    );
  });
});
