// expression.h — the condition language of scheme policies, compiled once, evaluated often.
//
// Grammar (docs/policy-language.md):
//   expr    := and ('or' and)*
//   and     := not ('and' not)*
//   not     := 'not' not | cmp
//   cmp     := sum [('<'|'<='|'>'|'>='|'=='|'!=') sum | ['not'] 'in' '{' ident (',' ident)* '}']
//   sum     := prod (('+'|'-') prod)*
//   prod    := unary (('*'|'/') unary)*
//   unary   := '-' unary | primary
//   primary := number | 'true' | 'false' | attribute | definition | enum-value
//            | ('min'|'max') '(' sum (',' sum)+ ')' | 'present' '(' attribute ')' | '(' expr ')'
//
// Types are checked at compile time: numbers, booleans, and enums (an enum value is written as a
// bare identifier on the right of a comparison with its attribute: `victim_tier >= large`,
// `entity_type in {cloud, cdn}`). Ordered comparison needs an ordered enum.
//
// Absent attributes follow three-valued (Kleene) logic: arithmetic and comparisons over an
// absent value are unknown; `unknown and false` is false, `unknown or true` is true. A rule
// fires only when its condition is definitely true. Division by zero is unknown.
//
// Compiled code is a flat postfix program run on a fixed-size stack: evaluation never
// allocates, so a compiled expression may be evaluated concurrently from many threads.
//
//   ASSIGN_OR_RETURN(Expression e,
//                    Expression::Compile("deaths > 0 or direct_loss_eur > 500000",
//                                        registry, {}, where));
//   if (e.Test(attrs) == Truth::kTrue) ...
#ifndef SEVEX_ENGINE_EXPRESSION_H_
#define SEVEX_ENGINE_EXPRESSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/attribute_set.h"
#include "engine/registry.h"
#include "engine/source_location.h"

namespace sevex::engine {

enum class Truth : uint8_t { kFalse = 0, kTrue = 1, kUnknown = 2 };
const char* TruthName(Truth t);

struct ExprType {
  enum Kind : uint8_t { kNumber, kBool, kEnum };
  Kind kind = kNumber;
  int enum_slot = -1;  // kEnum: the attribute whose values these are
};

// A named sub-expression of a policy (`define { name: "x_users" expr: "..." }`), inlined
// where it is used. `where` locates the first character of `text`.
struct Definition {
  std::string text;
  SourceLocation where;
};
using Definitions = absl::flat_hash_map<std::string, Definition>;

class Expression {
 public:
  static constexpr int kMaxStack = 32;
  // Levels of parentheses, `not`, unary `-`, function calls and definitions inside one another.
  static constexpr int kMaxNesting = 64;
  // Steps of compiled code, definitions inlined (a shipped rule compiles to a few dozen).
  static constexpr size_t kMaxCode = 1 << 16;

  // Compiles `text`; `where` locates its first character. Errors are InvalidArgument
  // "file:line:col: what was wrong, and what was expected". Refuses, as errors, an expression
  // that nests deeper than kMaxNesting, needs more than kMaxStack operands at once, or
  // compiles to more than kMaxCode steps: compiling takes time and stack in proportion to
  // the program, whatever the text.
  static absl::StatusOr<Expression> Compile(absl::string_view text,
                                            const AttributeRegistry& registry,
                                            const Definitions& defines,
                                            const SourceLocation& where);

  // For boolean expressions.
  Truth Test(const AttributeSet& attrs) const;
  // For numeric expressions: the value, or nullopt when it depends on an absent attribute.
  std::optional<double> Number(const AttributeSet& attrs) const;

  ExprType type() const { return type_; }
  const std::string& text() const { return text_; }
  // Registry slots the expression reads, definitions included; sorted, unique.
  const std::vector<int>& reads() const { return reads_; }
  bool IsConstantTrue() const;
  // Same compiled program (so the same condition, however it was written).
  bool SameProgram(const Expression& other) const;

  enum class Op : uint8_t {
    kConst, kLoad, kPresent, kNeg, kAdd, kSub, kMul, kDiv, kMin, kMax,
    kLt, kLe, kGt, kGe, kEq, kNe, kAnd, kOr, kNot, kIn,
    // Short-circuit: when the value on top is known false (true), jump to `slot`, leaving it
    // as the result of the `and` (`or`) and skipping the right operand.
    kJumpIfKnownFalse, kJumpIfKnownTrue,
  };
  struct Instr {
    Op op;
    int32_t slot = -1;   // kLoad, kPresent; the jump target of kJumpIf*
    double k = 0;        // kConst
    uint64_t mask = 0;   // kIn: bit i set when enum ordinal i is in the set
    bool operator==(const Instr&) const = default;
  };

 private:
  friend class ExpressionParser;
  struct Value {
    double v;
    bool known;
  };
  Value Run(const AttributeSet& attrs) const;

  std::string text_;
  ExprType type_;
  std::vector<Instr> code_;
  std::vector<int> reads_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_EXPRESSION_H_
