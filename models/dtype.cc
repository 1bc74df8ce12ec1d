#include "models/dtype.h"

namespace qh {

namespace {
struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4},       {DType::kF16, "F16", 2},        {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8},       {DType::kI64, "I64", 8},        {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},       {DType::kI8, "I8", 1},          {DType::kU8, "U8", 1},
    {DType::kU16, "U16", 2},       {DType::kU32, "U32", 4},        {DType::kU64, "U64", 8},
    {DType::kBool, "BOOL", 1},     {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
};
const DTypeInfo& info(DType t) {
  for (const DTypeInfo& i : kDTypes)
    if (i.type == t) return i;
  return kDTypes[0];  // unreachable: every enumerator is in the table
}
}  // namespace

const char* to_string(DType t) { return info(t).name; }
size_t dtype_size(DType t) { return info(t).size; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const DTypeInfo& i : kDTypes)
    if (name == i.name) return i.type;
  return std::nullopt;
}

}  // namespace qh
