// Reads the bearer token and puts the caller's principal on res.locals for the routes.
import type { RequestHandler, Response } from 'express';
import { tokenFrom, type Principal, type TokenVerifier } from '../../auth/tokens.js';

export function authenticate(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    verifier.verify(tokenFrom(req.headers.authorization, null)).then((principal) => {
      res.locals.principal = principal;
      next();
    }, next);
  };
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}
