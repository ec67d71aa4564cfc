// Reads the bearer token and puts the caller's principal on the request for the routes.
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { tokenFrom, type Principal, type TokenVerifier } from '../../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by authenticate() before any /v1/sessions handler runs. */
    principal: Principal | null;
  }
}

export function authenticate(verifier: TokenVerifier): preHandlerAsyncHookHandler {
  return async (req) => {
    req.principal = await verifier.verify(tokenFrom(req.headers.authorization, null));
  };
}

export function principalOf(req: FastifyRequest): Principal {
  return req.principal as Principal;
}
