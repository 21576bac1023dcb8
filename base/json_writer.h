// json_writer.h — the one way sevex writes JSON text (RFC 8259).
//
// Every JSON that sevex prints or stores goes through `JsonWriter` (or `AppendJsonString` for a
// lone string), so escaping and number formatting are decided here once:
//
//   JsonWriter w({.layout = JsonWriter::Layout::kSpaced});
//   w.BeginObject(JsonWriter::Layout::kBlock);
//   w.Key("scheme").String("o'brien-café");
//   w.Key("levels").BeginArray().Int(1).Int(2).EndArray();
//   w.EndObject();
//   std::string text = w.Release();   // {\n  "scheme": "o'brien-café",\n  "levels": [1, 2]\n}
//
// Strings: `"` and `\` are escaped; U+0000–U+001F become \b \f \n \r \t or \u00XX, and so does
// DEL (U+007F, for terminals); valid UTF-8 passes through unchanged (no \u escapes for non-ASCII);
// each byte that does not begin a valid UTF-8 sequence (a stray continuation byte, a truncated,
// overlong or surrogate sequence, a code point above U+10FFFF) becomes \ufffd, so the output is
// always text a JSON parser accepts.
//
// Numbers: integers in decimal. A double that is an integer of magnitude below 1e15 is written
// as that integer ("70", not "70.0"); any other finite double as the shortest text that reads
// back as the same double (std::to_chars: no locale, e.g. "0.1", "1e+20"). JSON has no NaN or
// infinity: they are written as `null`.
//
// Not thread-safe; one writer builds one text.
#ifndef SEVEX_BASE_JSON_WRITER_H_
#define SEVEX_BASE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace sevex::base {

// Appends `text` as a JSON string literal, quotes included, escaped as described above.
void AppendJsonString(std::string* out, absl::string_view text);

// `text` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view text);

// Appends a JSON number for `value` (`null` for NaN and infinities).
void AppendJsonNumber(std::string* out, double value);

// A streaming writer: values are appended in the order the calls are made; object members keep
// that order, so the same calls always give the same bytes. Misuse (a `Key` outside an object,
// a value in an object without a `Key`, an `End` that does not match its `Begin`, a second
// top-level value) is a programming error and aborts.
class JsonWriter {
 public:
  // How a container lays out its members or elements.
  enum class Layout {
    kCompact,  // {"a":1,"b":[1,2]}
    kSpaced,   // {"a": 1, "b": [1, 2]}  (one line)
    kBlock,    // one member or element per line, indented `indent` spaces per level; ": "
  };
  struct Options {
    // For containers begun without a layout of their own.
    Layout layout = Layout::kCompact;
    // Spaces per level, for `kBlock` containers and for `Wrap`.
    int indent = 2;
  };

  JsonWriter() : JsonWriter(Options()) {}
  explicit JsonWriter(Options options) : options_(options) {}

  JsonWriter& BeginObject() { return BeginObject(options_.layout); }
  JsonWriter& BeginObject(Layout layout);
  JsonWriter& EndObject();
  JsonWriter& BeginArray() { return BeginArray(options_.layout); }
  JsonWriter& BeginArray(Layout layout);
  JsonWriter& EndArray();

  // The name of the next member of the current object.
  JsonWriter& Key(absl::string_view key);

  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // In a `kCompact` or `kSpaced` container: the next member or element starts a new line,
  // indented one level deeper than the line the container is on. For long one-line objects.
  JsonWriter& Wrap();

  // The text so far; complete once the top-level value is.
  const std::string& text() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  struct Frame {
    bool object;
    Layout layout;
    int line;  // indentation level of the line the container opened on
    size_t count = 0;
    bool key_pending = false;
    bool wrap = false;
  };
  // Separator and line break before a value (or a key), and the checks that it may go here.
  void BeforeValue();
  void BeforeItem();
  void Begin(bool object, Layout layout, char open);
  void End(bool object, char close);
  void NewLine(int level);

  Options options_;
  std::string out_;
  std::vector<Frame> stack_;
  int line_ = 0;  // indentation level of the line being written
  bool done_ = false;
};

}  // namespace sevex::base

#endif  // SEVEX_BASE_JSON_WRITER_H_
