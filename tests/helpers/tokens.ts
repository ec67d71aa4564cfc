// A bearer token for a test server started with JWT_SECRET: HS256, issued now, valid for an hour.
import { SignJWT } from 'jose';

export function signedToken(secret: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}
