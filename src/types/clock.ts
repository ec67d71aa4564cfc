/** The one notion of "server now" an instance uses for every timestamp it writes or hands out. */
export interface Clock {
  nowMs(): number;
}
