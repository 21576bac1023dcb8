// base/json_writer: escapes, UTF-8, numbers, nesting and layouts. Every text the writer makes is
// also parsed back with protobuf's JSON parser, which rejects anything RFC 8259 does not allow.
#include "base/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace sevex::base {
namespace {

google::protobuf::Value Parse(const std::string& text) {
  google::protobuf::Value v;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &v);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << text;
  return v;
}

TEST(JsonString, EscapesQuoteAndBackslashOnly) {
  EXPECT_EQ(JsonString(R"(say "hi" \ o'brien / ok)"), R"("say \"hi\" \\ o'brien / ok")");
  EXPECT_EQ(JsonString(""), R"("")");
}

TEST(JsonString, ControlCharacters) {
  EXPECT_EQ(JsonString("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(JsonString(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(JsonString("\x01\x1f\x7f"), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(Parse(JsonString("x\x01y\nz")).string_value(), "x\x01y\nz");
}

TEST(JsonString, ValidUtf8PassesThrough) {
  const std::string text = "o'brien-caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x94\x92 \xEF\xBF\xBF";
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
  EXPECT_EQ(Parse(JsonString(text)).string_value(), text);
}

TEST(JsonString, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(JsonString("caf\xC3"), R"("caf\ufffd")") << "truncated at the end";
  EXPECT_EQ(JsonString("\xC3("), R"("\ufffd(")") << "a lead byte without its continuation";
  EXPECT_EQ(JsonString("\x80\xBF"), R"("\ufffd\ufffd")") << "stray continuation bytes";
  EXPECT_EQ(JsonString("\xE2\x82"), R"("\ufffd\ufffd")") << "a truncated sequence";
  EXPECT_EQ(JsonString("\xED\xA0\x80"), R"("\ufffd\ufffd\ufffd")") << "a surrogate";
  EXPECT_EQ(JsonString("\xC0\xAF"), R"("\ufffd\ufffd")") << "an overlong form";
  EXPECT_EQ(JsonString("\xF4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")") << "above U+10FFFF";
  EXPECT_EQ(JsonString("\xFF"), R"("\ufffd")");
  EXPECT_EQ(Parse(JsonString("a\xC3"
                             "b"))
                .string_value(),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(JsonNumber, IntegersAndDoubles) {
  JsonWriter w;
  w.BeginArray()
      .Int(0)
      .Int(-42)
      .Int(std::numeric_limits<int64_t>::min())
      .Uint(std::numeric_limits<uint64_t>::max())
      .Double(70.0)
      .Double(-3.0)
      .Double(0.1)
      .Double(62.5)
      .Double(1e20)
      .Double(1.5e-7)
      .EndArray();
  EXPECT_EQ(w.text(), "[0,-42,-9223372036854775808,18446744073709551615,70,-3,0.1,62.5,1e+20,1.5e-07]");
  Parse(w.text());
}

TEST(JsonNumber, NanAndInfinityAreNull) {
  std::string out;
  AppendJsonNumber(&out, std::nan(""));
  out += ",";
  AppendJsonNumber(&out, std::numeric_limits<double>::infinity());
  out += ",";
  AppendJsonNumber(&out, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(out, "null,null,null");
}

TEST(JsonWriter, CompactNesting) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a").Int(1).Key("b").BeginArray().Bool(true).Bool(false).Null().EndArray();
  w.Key("c").BeginObject().EndObject().Key("d").BeginArray().EndArray();
  w.Key("e").BeginObject().Key("f").String("g").EndObject();
  w.EndObject();
  EXPECT_EQ(w.text(), R"({"a":1,"b":[true,false,null],"c":{},"d":[],"e":{"f":"g"}})");
  Parse(w.text());
}

TEST(JsonWriter, Spaced) {
  JsonWriter w({.layout = JsonWriter::Layout::kSpaced});
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().String("x").String("y").EndArray().EndObject();
  EXPECT_EQ(w.text(), R"({"a": 1, "b": ["x", "y"]})");
}

TEST(JsonWriter, Block) {
  JsonWriter w({.layout = JsonWriter::Layout::kBlock, .indent = 2});
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().Int(2).BeginObject().EndObject().EndArray();
  w.Key("c").BeginArray().EndArray().EndObject();
  EXPECT_EQ(w.text(), "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    {}\n  ],\n  \"c\": []\n}");
  Parse(w.text());
}

TEST(JsonWriter, BlockOfOneLineObjectsWithWrap) {
  JsonWriter w({.layout = JsonWriter::Layout::kSpaced});
  w.BeginObject(JsonWriter::Layout::kBlock);
  w.Key("old").BeginObject().Key("scheme").String("x").Key("version").String("1").EndObject();
  w.Key("corpus").BeginObject().Key("notices").Int(3).Wrap().Key("transitions").BeginArray();
  w.BeginObject().Key("from").String("a").EndObject().BeginObject().Key("from").String("b").EndObject();
  w.EndArray().Wrap().Key("changed").BeginArray().EndArray().EndObject();
  w.EndObject();
  EXPECT_EQ(w.text(),
            "{\n"
            "  \"old\": {\"scheme\": \"x\", \"version\": \"1\"},\n"
            "  \"corpus\": {\"notices\": 3,\n"
            "    \"transitions\": [{\"from\": \"a\"}, {\"from\": \"b\"}],\n"
            "    \"changed\": []}\n"
            "}");
  Parse(w.text());
}

TEST(JsonWriter, KeysAreEscapedToo) {
  JsonWriter w;
  w.BeginObject().Key("k\"\n\xC3").String("v").EndObject();
  EXPECT_EQ(w.text(), R"({"k\"\n\ufffd":"v"})");
}

TEST(JsonWriterDeathTest, Misuse) {
  EXPECT_DEATH(JsonWriter().BeginObject().Int(1), "");
  EXPECT_DEATH(JsonWriter().BeginArray().Key("k"), "");
  EXPECT_DEATH(JsonWriter().BeginArray().EndObject(), "");
  EXPECT_DEATH(JsonWriter().Int(1).Int(2), "");
}

}  // namespace
}  // namespace sevex::base
