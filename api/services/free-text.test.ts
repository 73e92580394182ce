import { checkFreeText, cleanFreeText, freeTextProblem } from "./free-text";

describe("free text", () => {
  it.each([
    ["ESC of an ANSI colour", "rig\u001b[31m-1", "U+001B (an escape character (ANSI escape codes), character 4)"],
    ["a C0 control", "rig\u0007", "U+0007 (a control character, character 4)"],
    ["DEL", "a\u007f", "U+007F"],
    ["a C1 control (CSI)", "a\u009bb", "U+009B"],
    ["a right-to-left override", "ubuntu\u202Egpj.exe", "U+202E (a bidirectional control, character 7)"],
    ["a bidi isolate", "\u2066x\u2069", "U+2066 (a bidirectional control"],
    ["a right-to-left mark", "x\u200F", "U+200F"],
    ["a zero-width space", "ad\u200Bmin", "U+200B (an invisible formatting character"],
    ["a byte order mark", "\uFEFFx", "U+FEFF"],
    ["a soft hyphen", "ad\u00ADmin", "U+00AD"],
    ["a tag character", "x\u{E0041}", "U+E0041"],
    ["a line separator", "a\u2028b", "U+2028 (a line or paragraph separator"],
    ["a Hangul filler", "\u3164", "U+3164 (a blank filler letter"],
    ["a lone surrogate", "a\uD800b", "U+D800 (a lone surrogate"],
    ["a line feed in a line", "a\nb", "U+000A"],
    ["a tab in a line", "a\tb", "U+0009"],
  ])("refuses %s in a line, naming the code point and place", (_what, value, expected) => {
    expect(freeTextProblem(value, "line")).toContain(expected);
    expect(() => checkFreeText("input.name", value)).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT", message: expect.stringMatching(/^input\.name may not contain U\+/) }));
  });

  it.each([
    ["plain ASCII", "gpu-node-01"],
    ["accents and other scripts", "nœud-Ωμέγα-东京-नमस्ते"],
    ["an emoji sequence with ZWJ", "rig 👩‍💻"],
    ["Persian with ZWNJ", "می‌خواهم"],
    ["an emoji with a variation selector", "❤️"],
    ["a right-to-left script without controls", "عقدة"],
  ])("takes %s", (_what, value) => {
    expect(freeTextProblem(value, "line")).toBeUndefined();
    expect(freeTextProblem(value, "text")).toBeUndefined();
  });

  it("takes tabs, line feeds and CRLF in multi-line text, but no lone carriage return or escape", () => {
    expect(freeTextProblem("line one\n\tline two\r\nthree", "text")).toBeUndefined();
    expect(freeTextProblem("shown\rhidden", "text")).toContain("U+000D");
    expect(freeTextProblem("\u001b[2J", "text")).toContain("U+001B");
    expect(freeTextProblem("x\u202Ey", "text")).toContain("U+202E");
  });

  it("counts places in characters, not code units", () => {
    expect(freeTextProblem("😀😀\u001b")).toContain("character 3");
  });

  it("cleans relayed text by replacing each refused character, keeping the rest", () => {
    expect(cleanFreeText("exit 1: \u001b[31mboom\u001b[0m\r\nnext\rover \u202Etxt")).toBe("exit 1: \ufffd[31mboom\ufffd[0m\r\nnext\ufffdover \ufffdtxt");
    expect(cleanFreeText("plain 👩‍💻 text\n")).toBe("plain 👩‍💻 text\n");
  });
});
