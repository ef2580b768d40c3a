// main for zeroing_test: GoogleTest without gtest_main, so nothing runs before the allocator
// hooks of zeroing_test.cpp (installed during static initialisation) are in place.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
