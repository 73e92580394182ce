import { fill, h } from "../dom";

export function providerPage(main: HTMLElement): () => void {
  fill(main, h("h1", {}, "provider"));
  return () => undefined;
}
