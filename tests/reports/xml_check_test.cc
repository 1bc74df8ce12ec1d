// The checker itself must reject what it is meant to catch, or the HTML/SVG/JUnit tests prove nothing.
#include <gtest/gtest.h>

#include "tests/reports/xml_check.h"

namespace {

using qh::testing::xml_problem;

TEST(XmlCheck, AcceptsWellFormedDocuments) {
  EXPECT_EQ(xml_problem("<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t &amp; u<c y='2'>&#160;</c></a>\n"), "");
  EXPECT_EQ(xml_problem("<!DOCTYPE html>\n<html><!-- c --><body><meta charset=\"utf-8\"/></body></html>"), "");
}

TEST(XmlCheck, RejectsMalformedDocuments) {
  EXPECT_NE(xml_problem("<a><b></a></b>"), "");
  EXPECT_NE(xml_problem("<a>"), "");
  EXPECT_NE(xml_problem("<a>1 < 2</a>"), "");
  EXPECT_NE(xml_problem("<a>fish & chips</a>"), "");
  EXPECT_NE(xml_problem("<a x=1></a>"), "");
  EXPECT_NE(xml_problem("<a x=\"<\"></a>"), "");
  EXPECT_NE(xml_problem("<a></a><b></b>"), "");
  EXPECT_NE(xml_problem(""), "");
}

}  // namespace
