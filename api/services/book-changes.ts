import type { BookDelta } from "../db/repositories/book.repository";

/** Called after a commit that changed books, with the deltas it recorded (cache invalidation). */
export type BookChangeListener = (deltas: readonly BookDelta[]) => void;
