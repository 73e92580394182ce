/**
 * One request at a time per resumable upload, the newest winning: {@link UploadSlots.take} cuts off the request that
 * holds the upload (its `cutOff`, which destroys its body) and waits until it let go, so a client that lost its
 * connection (which the server may not have noticed yet) can ask for the offset and continue at once.
 */
export class UploadSlots {
  private readonly held = new Map<string, { cutOff: () => void; released: Promise<void> }>();

  /** Takes `upload`'s slot; `cutOff` is how a later request ends this one. Call the returned function when done. */
  async take(upload: string, cutOff: () => void): Promise<() => void> {
    for (let holder = this.held.get(upload); holder; holder = this.held.get(upload)) {
      holder.cutOff();
      await holder.released;
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.set(upload, { cutOff, released });
    return () => {
      this.held.delete(upload);
      release();
    };
  }

  /** Whether a request holds `upload` now. */
  busy(upload: string): boolean {
    return this.held.has(upload);
  }
}
