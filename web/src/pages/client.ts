import { fill, h } from "../dom";

export function clientPage(main: HTMLElement): () => void {
  fill(main, h("h1", {}, "client"));
  return () => undefined;
}
