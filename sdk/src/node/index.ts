/** @gpu-exchange/sdk/node: the SDK in Node (a WebSocket from `ws`, files on disk). */
import WebSocket from "ws";
import { ExchangeClient, type ExchangeClientOptions } from "../client";

export * from "../index";
export { sha256File, uploadFile, type UploadFileOptions } from "./files";
export { downloadFile, downloadOutputs, type DownloadedOutput, type DownloadOptions } from "./download";

/** An {@link ExchangeClient} with Node's WebSocket (the `ws` package); Node 22+ would also do with its global one. */
export function createNodeClient(options: Omit<ExchangeClientOptions, "webSocketImpl">): ExchangeClient {
  return new ExchangeClient({ ...options, webSocketImpl: WebSocket });
}
