import { fill, h } from "../dom";

export function jobPage(main: HTMLElement): () => void {
  fill(main, h("h1", {}, "job"));
  return () => undefined;
}
