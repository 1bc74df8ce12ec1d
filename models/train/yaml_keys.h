// yaml-cpp keeps every pair of a mapping that repeats a key and answers lookups with one of them, so a suite or
// zoo file with "max_kld_mean" twice would silently lose one limit. Every YAML file qharness reads goes through
// this check right after parsing.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

namespace qh {

// Throws InputError "file:line:col: duplicate key 'k' (first given at line:col)" for the first mapping anywhere in
// the document that repeats a scalar key.
void reject_duplicate_keys(const YAML::Node& root, const std::string& file);

}  // namespace qh
