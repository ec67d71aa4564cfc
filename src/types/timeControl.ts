// Time controls: the API's own shapes, shared with the SDK (the clock formulas run on them).
export {
  TIME_CONTROL_TYPES,
  type BronsteinControl,
  type ByoyomiControl,
  type CanadianControl,
  type ClockCounters,
  type ClockFaceFields,
  type DelayControl,
  type FischerControl,
  type HourglassControl,
  type Stage,
  type StagesControl,
  type TimeControl,
  type TimeControlType,
} from '@synckairos/client/wire';
