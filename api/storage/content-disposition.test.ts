import { attachmentDisposition, MAX_FILE_NAME_CHARS } from "./content-disposition";

describe("attachmentDisposition", () => {
  it("quotes a plain name in both forms", () => {
    expect(attachmentDisposition("model.safetensors")).toBe(`attachment; filename="model.safetensors"; filename*=UTF-8''model.safetensors`);
  });

  it("keeps a UTF-8 name in filename* and gives ASCII with _ in filename", () => {
    expect(attachmentDisposition("résumé 日本.txt")).toBe(`attachment; filename="r_sum_ __.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.txt`);
  });

  it("cannot be broken out of: quotes, backslashes, semicolons, CR/LF and percent signs", () => {
    const value = attachmentDisposition('a"; filename="evil.exe\r\nSet-Cookie: x=1\\%41.txt');
    expect(value).toBe(`attachment; filename="a_; filename=_evil.exeSet-Cookie: x=1__41.txt"; filename*=UTF-8''a%22%3B%20filename%3D%22evil.exeSet-Cookie%3A%20x%3D1_%2541.txt`);
    expect(value).toMatch(/^[\x20-\x7e]+$/);
    expect(value.match(/"/g)).toHaveLength(2);
  });

  it("replaces path separators and encodes RFC 8187's non-attr-chars ' ( ) *", () => {
    expect(attachmentDisposition("../etc/pass(w)d*'")).toBe(`attachment; filename=".._etc_pass(w)d*'"; filename*=UTF-8''.._etc_pass%28w%29d%2A%27`);
  });

  it("names an empty or all-control name 'download', survives a lone surrogate, and cuts a long name", () => {
    expect(attachmentDisposition("")).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
    expect(attachmentDisposition("\u0000\u200b ")).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
    expect(attachmentDisposition("a\ud800b")).toBe(`attachment; filename="a_b"; filename*=UTF-8''a%EF%BF%BDb`);
    const long = attachmentDisposition("é".repeat(500));
    expect(decodeURIComponent(long.split("UTF-8''")[1])).toBe("é".repeat(MAX_FILE_NAME_CHARS));
  });
});
