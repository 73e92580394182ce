/**
 * One address an account is known by: its own wallet, or an address it had its escrow earnings paid to (the `to`
 * of the escrow's `Claimed` events).
 */
export interface AccountAddress {
  accountId: string;
  address: string;
}

/**
 * Groups of related accounts, for the reference price: two accounts are related when they share an address
 * (compared case-insensitively), and relation is transitive, so a chain A ~ B ~ C puts all three in one group.
 * Every account in `accountIds` or in `links` gets the id of its group, which is the least account id in the group
 * (string order), so the answer does not depend on the order of the input. An account without links is a group of
 * its own. O(n α(n)) with union by size and path halving.
 */
export function relatedGroups(accountIds: Iterable<string>, links: readonly AccountAddress[]): Map<string, string> {
  const parent = new Map<string, string>();
  const size = new Map<string, number>();
  const add = (id: string) => {
    if (!parent.has(id)) {
      parent.set(id, id);
      size.set(id, 1);
    }
  };
  const find = (id: string): string => {
    let x = id;
    for (let p = parent.get(x)!; p !== x; p = parent.get(x)!) {
      const grand = parent.get(p)!;
      parent.set(x, grand);
      x = grand;
    }
    return x;
  };
  const union = (a: string, b: string) => {
    let ra = find(a);
    let rb = find(b);
    if (ra === rb) return;
    if (size.get(ra)! < size.get(rb)!) [ra, rb] = [rb, ra];
    parent.set(rb, ra);
    size.set(ra, size.get(ra)! + size.get(rb)!);
  };
  for (const id of accountIds) add(id);
  const byAddress = new Map<string, string>();
  for (const { accountId, address } of links) {
    add(accountId);
    const key = address.toLowerCase();
    const first = byAddress.get(key);
    if (first === undefined) byAddress.set(key, accountId);
    else union(first, accountId);
  }
  const least = new Map<string, string>();
  for (const id of parent.keys()) {
    const root = find(id);
    const known = least.get(root);
    if (known === undefined || id < known) least.set(root, id);
  }
  return new Map([...parent.keys()].map((id) => [id, least.get(find(id))!]));
}
