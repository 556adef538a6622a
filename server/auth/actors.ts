// Who is calling: a person or automation acting for a user, or a host's agent.
export type Role = 'admin' | 'operator' | 'viewer';

/** A person (session cookie) or automation (API token) acting for a user. */
export interface UserActor {
  kind: 'user' | 'token';
  userId: string;
  tenantId: string;
  username: string;
  role: Role;
  sessionId?: string;
  tokenId?: string;
}

/** An agent holding its host credential. */
export interface HostActor {
  kind: 'host';
  hostId: string;
  hostName: string;
  /** SHA-256 of the credential presented: a stream opened with it ends once the host holds another. */
  credentialHash?: string;
}
