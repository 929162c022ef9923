// The store's warnings: each has a stable BATPAK_* code, and by default goes to process.emitWarning
// (type 'BatpakWarning'), so recovery cuts, checkpoint fallbacks and signing downgrades are never silent.
// Invariant: a warning never changes what the store does; options.onWarning replaces the default sink.

/** The code of each kind of store warning (also the `code` of the emitted process warning). */
export type WarningCode =
  /** Open cut a torn or corrupt tail off a segment (recovery). */
  | 'BATPAK_RECOVERY_TAIL_CUT'
  /** The cold-start checkpoint was not used: the open scanned every segment. */
  | 'BATPAK_CHECKPOINT_FALLBACK'
  /** Close could not write the cold-start checkpoint (the next open scans every segment). */
  | 'BATPAK_CHECKPOINT_WRITE_FAILED'
  /** A commit group was written unsigned because signing failed (signingDowngradeAllowed). */
  | 'BATPAK_SIGNING_DOWNGRADE'
  /** A registry wiring problem under payloadValidation 'warn'. */
  | 'BATPAK_REGISTRY_PROBLEM'
  /** The directory shows acknowledged events are gone (opened anyway: readOnly or allowDataLoss). */
  | 'BATPAK_DIRECTORY_DAMAGE'
  /** A compaction committed but its cleanup is left to the next open. */
  | 'BATPAK_COMPACTION_CLEANUP_DEFERRED'
  /** A read-only open could not fsync the newest segment. */
  | 'BATPAK_READONLY_FSYNC_FAILED'
  /** A projection snapshot file was not used (unreadable, another version, failed check): rebuilt from the log. */
  | 'BATPAK_PROJECTION_SNAPSHOT_IGNORED'
  /** A projection snapshot could not be written (the state stays correct; the next cold read folds the log). */
  | 'BATPAK_PROJECTION_SNAPSHOT_WRITE_FAILED'
  /** A sealed segment's index file was missing, stale, torn or damaged: rebuilt from the segment. */
  | 'BATPAK_INDEX_FILE_REBUILT'
  /** A sealed segment's index file could not be written (the store stays correct; a later open rebuilds it). */
  | 'BATPAK_INDEX_FILE_WRITE_FAILED';

/** Where the store's warnings go. */
export type WarningSink = (message: string, code: WarningCode) => void;

/** The default sink: a Node process warning, silenced like any other (see the README, option onWarning). */
export const emitProcessWarning: WarningSink = (message, code) => {
  process.emitWarning(message, { type: 'BatpakWarning', code });
};
