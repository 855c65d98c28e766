// The oscilloscope's settings: per-user storage and the subscription they make.
import { DEFAULTS, loadSettings, saveSettings, scopeConfig, traceNames } from "./scopesettings";

describe("scope settings", () => {
  beforeEach(() => localStorage.clear());

  it("are kept per account, and one account never sees another's", () => {
    const mine = { ...DEFAULTS, channels: "2", timegap: "5", useTrigger: true, trigger: "1.5" };
    saveSettings(localStorage, 7, mine);
    expect(loadSettings(localStorage, 7)).toEqual(mine);
    expect(loadSettings(localStorage, 8)).toEqual(DEFAULTS);
  });

  it("fall back to the defaults field by field when what is stored is odd", () => {
    localStorage.setItem("remotelab:scope:7", "{not json");
    expect(loadSettings(localStorage, 7)).toEqual(DEFAULTS);
    localStorage.setItem("remotelab:scope:7", JSON.stringify({ channels: "3", range: "8", samples: 5, useTrigger: "yes" }));
    expect(loadSettings(localStorage, 7)).toEqual({ ...DEFAULTS, range: "8" });
    localStorage.setItem("remotelab:scope:7", "[1]");
    expect(loadSettings(localStorage, 7)).toEqual(DEFAULTS);
  });

  it("make the subscription's config", () => {
    expect(scopeConfig(DEFAULTS)).toEqual({ config: { channels: 1, samples: 1000, timegap: 2 } });
    const triggered = { ...DEFAULTS, channels: "2", range: "4", useTrigger: true, trigger: "-1", triggerChannel: "CH2" };
    expect(scopeConfig(triggered)).toEqual({
      config: { channels: 2, samples: 1000, timegap: 2, trigger: -1, trigger_channel: "CH2", range: 4 },
    });
  });

  it("name what cannot be sent at all", () => {
    expect(scopeConfig({ ...DEFAULTS, samples: "" })).toEqual({ error: "Samples must be a number, not “”" });
    expect(scopeConfig({ ...DEFAULTS, samples: "10.5" })).toEqual({ error: "Samples must be a whole number, not 10.5" });
    expect(scopeConfig({ ...DEFAULTS, timegap: "fast" })).toEqual({ error: "Timegap must be a number, not “fast”" });
    expect(scopeConfig({ ...DEFAULTS, useTrigger: true, trigger: "" })).toEqual({ error: "Trigger level must be a number, not “”" });
    expect(scopeConfig({ ...DEFAULTS, trigger: "" })).toHaveProperty("config"); // unused: fine
  });

  it("name the traces of a capture", () => {
    expect(traceNames(1)).toEqual(["CH1"]);
    expect(traceNames(2)).toEqual(["CH1", "CH2"]);
    expect(traceNames(4)).toEqual(["CH1", "CH2", "CH3", "MIC"]);
  });
});
