// base/names: one name per value of the proto enums it spells, by wire number. A value added to
// Marking.Tlp or Receipt.Status without a name in base/names.cc fails here.
#include "base/names.h"

#include <cctype>
#include <string>

#include "gtest/gtest.h"
#include "sevex/v1/node.pb.h"
#include "sevex/v1/notice.pb.h"

namespace sevex::base {
namespace {

TEST(TlpName, EveryMarkingHasOneSpelling) {
  const auto* e = v1::Marking::Tlp_descriptor();
  for (int i = 0; i < e->value_count(); ++i) {
    const int number = e->value(i)->number();
    SCOPED_TRACE(e->value(i)->name());
    if (number == v1::Marking::TLP_UNSPECIFIED) {
      EXPECT_EQ(TlpName(number), "");
      continue;
    }
    // The enum's own name, with AMBER_STRICT's '_' spelled '+' as TLP 2.0 does.
    std::string expected = e->value(i)->name();
    for (char& c : expected) c = c == '_' ? '+' : c;
    EXPECT_EQ(TlpName(number), expected);
    std::string lower = expected;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(TlpNameLower(number), lower);
  }
  EXPECT_EQ(TlpName(v1::Marking::AMBER_STRICT), "AMBER+STRICT");
  EXPECT_EQ(TlpNameLower(v1::Marking::AMBER_STRICT), "amber+strict");
  EXPECT_EQ(TlpName(e->value_count()), "") << "past the last value";
  EXPECT_EQ(TlpName(-1), "");
}

TEST(ReceiptStatusName, EveryStatusHasOneSpelling) {
  const auto* e = v1::Receipt::Status_descriptor();
  for (int i = 0; i < e->value_count(); ++i) {
    const int number = e->value(i)->number();
    SCOPED_TRACE(e->value(i)->name());
    if (number == v1::Receipt::STATUS_UNSPECIFIED) {
      EXPECT_EQ(ReceiptStatusName(number), "");
      continue;
    }
    std::string expected = e->value(i)->name();
    for (char& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(ReceiptStatusName(number), expected);
  }
  EXPECT_EQ(ReceiptStatusName(v1::Receipt::DELIVERED), "delivered");
  EXPECT_EQ(ReceiptStatusName(99), "");
}

}  // namespace
}  // namespace sevex::base
