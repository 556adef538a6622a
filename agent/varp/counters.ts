// Counter names of the VARP engine (Prometheus style; labels as a name suffix).

const P = 'softudc_varp_';
const REFUSED_VNET = `${P}entries_refused_total{scope="vnet"}`;
const REFUSED_HOST = `${P}entries_refused_total{scope="host"}`;
const EVICTED_VNET = `${P}entries_evicted_total{scope="vnet"}`;
const EVICTED_HOST = `${P}entries_evicted_total{scope="host"}`;

export const VARP_COUNTERS = {
  requestsSent: `${P}requests_sent_total`,
  refreshRequestsSent: `${P}refresh_requests_sent_total`,
  announcesSent: `${P}announces_sent_total`,
  gratuitousSent: `${P}gratuitous_sent_total`,
  withdrawsSent: `${P}withdraws_sent_total`,
  requestsReceived: `${P}requests_received_total`,
  announcesReceived: `${P}announces_received_total`,
  gratuitousReceived: `${P}gratuitous_received_total`,
  withdrawsReceived: `${P}withdraws_received_total`,
  localMovedAway: `${P}local_moved_away_total`,
  resolved: `${P}resolved_total`,
  resolutionsFailed: `${P}resolutions_failed_total`,
  ipResolutionsFailed: `${P}ip_resolutions_failed_total`,
  entriesExpired: `${P}entries_expired_total`,
  entriesMoved: `${P}entries_moved_total`,
  entriesWithdrawn: `${P}entries_withdrawn_total`,
  entriesLearned: `${P}entries_learned_total`,
  framesQueued: `${P}frames_queued_total`,
  framesReleased: `${P}frames_released_total`,
  sendErrors: `${P}send_errors_total`,
  learnedFromFrames: `${P}learned_from_sealed_frames_total`,
  relayedRequestsAnswered: `${P}relayed_requests_answered_total`,
  /** Resolutions ended early to make room for a newer one (of the same vnet, or of one below its share of a full host). */
  resolutionsPreempted: `${P}resolutions_preempted_total`,
  /** REQUESTs a vnet's bucket (requestRate, requestBurst) held back. */
  requestsSuppressed: `${P}requests_suppressed_total{reason="vnet_rate"}`,
  /** With a VARP key: REQUESTs that verify a GRATUITOUS ANNOUNCE at the COA it names. */
  verifyRequestsSent: `${P}verify_requests_sent_total`,
  verificationsSkipped: `${P}verifications_skipped_total`,
  /** With a VARP key: REQUESTs that verify the move of an outgoing VIF of this host at the COA announcing it. */
  moveVerifyRequestsSent: `${P}move_verify_requests_sent_total`,
  /** A new entry was not made: the vnet's or the host's bound was reached (VarpConfig maxEntriesPerVnet, maxEntries). */
  entriesRefused: (scope: BoundScope) => (scope === 'vnet' ? REFUSED_VNET : REFUSED_HOST),
  /** A settled entry made room for one a guest needed, the bound being reached. */
  entriesEvicted: (scope: BoundScope) => (scope === 'vnet' ? EVICTED_VNET : EVICTED_HOST),
  /** A VARP timer's work threw: a bug, reported in the log; the engine carries on. */
  timerErrors: `${P}timer_errors_total`,
} as const;

export type BoundScope = 'vnet' | 'host';

/** Why a frame held by the switch (agent/switch/held.ts) for a resolution was discarded. */
export type HeldDropReason =
  | 'queue_overflow' // INCOMPLETE and its queue already full
  | 'queue_discarded' // was queued when the entry became FAILED
  | 'vnet_queue_limit' // maxQueuedPerVnet datagrams already held on the frame's vnet
  | 'preempted' // was queued for a resolution ended to make room for a newer one
  | 'now_local' // was queued for a VIF that then attached here
  | 'stopped'; // engine not running, or stopped with frames queued

/** Why a frame handed to resolve() (or held for it) was discarded. */
export type FrameDropReason =
  | HeldDropReason
  | 'failed' // destination FAILED (within the hold time)
  | 'too_many_resolving' // maxResolving outstanding resolutions on the host
  | 'vnet_resolving_limit' // maxResolvingPerVnet outstanding resolutions on the frame's vnet
  | 'group_mac' // resolve() called for a group address
  | 'bad_destination' // resolve() called with a reserved vnet or an invalid MAC
  | 'local_destination' // resolve() called for a VIF on this host
  | 'cache_full'; // new destination, and no entry could be made room for (every one is being resolved)

/** Why a received VARP message changed nothing. */
export type IgnoreReason =
  | 'own' // our own multicast looped back
  | 'not_here' // REQUEST for a VIF this host does not have (normal on a shared group)
  | 'unsolicited' // ANNOUNCE answering no REQUEST of ours (anti-spoofing)
  | 'stale_version' // lower location version than the cached one
  | 'withdraw_mismatch' // WITHDRAW for an entry that does not point to that COA
  | 'announce_for_local' // someone announces a VIF attached here (not outgoing, not a newer version, or not the verified answer)
  | 'unrelated_vnet' // GRATUITOUS for a vnet with no VIF here
  | 'not_cached' // with a VARP key: GRATUITOUS for an entry not cached (resolved on first use)
  | 'cache_full' // GRATUITOUS for a new entry, the vnet's or the host's bound reached
  | 'stopped'; // engine not running

// Names built once: a drop must not allocate a string per datagram.
const dropNames = new Map<string, string>();
const ignoreNames = new Map<string, string>();

export function frameDropped(reason: FrameDropReason): string {
  let name = dropNames.get(reason);
  if (!name) dropNames.set(reason, (name = `${P}frames_dropped_total{reason="${reason}"}`));
  return name;
}

export function messageIgnored(reason: IgnoreReason): string {
  let name = ignoreNames.get(reason);
  if (!name) ignoreNames.set(reason, (name = `${P}messages_ignored_total{reason="${reason}"}`));
  return name;
}
