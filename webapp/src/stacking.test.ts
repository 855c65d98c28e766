// The shared table of cases (remotelab/widgets/stacking_cases.json), as the Python reference runs it.
import cases from "../../remotelab/widgets/stacking_cases.json";
import { StackingError, stack } from "./stacking";

describe("stacking, with the Python reference's table", () => {
  for (const c of (cases as any).cases) {
    it(c.name, () => {
      if (c.error !== undefined) {
        let reason = "";
        try {
          stack(c.result, c.stacking);
        } catch (e) {
          reason = (e as StackingError).reason;
        }
        expect(reason).toBe(c.error);
      } else {
        expect(stack(c.result, c.stacking)).toEqual(c.expected);
      }
    });
  }
});
