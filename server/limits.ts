// Bounds on the work one request may ask for, in one place: what the API
// enforces and what the web console's own client keeps to. Plain constants,
// so the browser bundle can import them.

/** Calls in one batch request (`?batch=1`); more is a BAD_REQUEST on `batch`. */
export const MAX_BATCH_CALLS = 10;
