// Tests for ChaCha20-Poly1305, WireGuard's counter nonce, HChaCha20 and XChaCha20-Poly1305:
// RFC 8439 (2.8.2, A.5), Wycheproof, draft-irtf-cfrg-xchacha-03 (2.2.1, A.3.1), a randomized
// HChaCha20 check against OpenSSL's ChaCha20 block function, and forgery/in-place behaviour.
#include "core/crypto/aead.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "wgcore/key.hpp"

namespace wgcore::crypto {
namespace {

using Buf = std::vector<std::uint8_t>;

Buf unhex(std::string_view s) {
  Buf v(s.size() / 2);
  EXPECT_TRUE(hex_decode(s, v)) << s;
  return v;
}

std::string hex(std::span<const std::uint8_t> b) { return hex_encode(b); }

Buf concat(const Buf& a, const Buf& b) {
  Buf r = a;
  r.insert(r.end(), b.begin(), b.end());
  return r;
}

Buf random_bytes(std::mt19937& rng, std::size_t n) {
  Buf v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

KeyRef key_of(const Buf& k) { return KeyRef(k.data(), kAeadKeyLen); }
std::span<const std::uint8_t, 12> nonce12(const Buf& n) {
  return std::span<const std::uint8_t, 12>(n.data(), 12);
}
std::span<const std::uint8_t, 24> nonce24(const Buf& n) {
  return std::span<const std::uint8_t, 24>(n.data(), 24);
}

Buf seal12(const Buf& plain, const Buf& nonce, const Buf& ad, const Buf& key) {
  Buf out(plain.size() + kAeadTag);
  chacha20poly1305_seal(out, plain, nonce12(nonce), ad, key_of(key));
  return out;
}

// ---- RFC 8439 ---------------------------------------------------------------------------

const char kRfcKey[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
const char kLadies[] =
    "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966"
    "204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f72207468652066757475"
    "72652c2073756e73637265656e20776f756c642062652069742e";

TEST(ChaCha20Poly1305, Rfc8439Section282Seal) {
  Buf ct = seal12(unhex(kLadies), unhex("070000004041424344454647"),
                  unhex("50515253c0c1c2c3c4c5c6c7"), unhex(kRfcKey));
  EXPECT_EQ(hex(ct),
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca96712"
            "82fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58"
            "fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
            "1ae10b594f09e26a7e902ecbd0600691");
}

TEST(ChaCha20Poly1305, Rfc8439Section282Open) {
  Buf ct = unhex(
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca96712"
      "82fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58"
      "fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691");
  Buf pt(ct.size() - kAeadTag);
  ASSERT_TRUE(chacha20poly1305_open(pt, ct, nonce12(unhex("070000004041424344454647")),
                                    unhex("50515253c0c1c2c3c4c5c6c7"), key_of(unhex(kRfcKey))));
  EXPECT_EQ(hex(pt), kLadies);
}

// RFC 8439 A.5. Its nonce is 00000000 || 0102030405060708, which is exactly WireGuard's nonce
// layout for counter 0x0807060504030201, so it also pins the counter encoding.
const char kA5Key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
const char kA5Cipher[] =
    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e"
    "382d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd"
    "60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c76"
    "7b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a"
    "0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a67276"
    "27097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b0270"
    "9b";
const char kA5Tag[] = "eead9d67890cbb22392336fea1851f38";
const char kA5Aad[] = "f33388860000000000004e91";
const char kA5Plain[] =
    "496e7465726e65742d4472616674732061726520647261667420646f63756d656e74732076616c696420666f"
    "722061206d6178696d756d206f6620736978206d6f6e74687320616e64206d617920626520757064617465"
    "642c207265706c616365642c206f72206f62736f6c65746564206279206f7468657220646f63756d656e74"
    "7320617420616e792074696d652e20497420697320696e617070726f70726961746520746f20757365204"
    "96e7465726e65742d447261667473206173207265666572656e6365206d6174657269616c206f7220746f2"
    "063697465207468656d206f74686572207468616e206173202fe2809c776f726b20696e2070726f677265"
    "73732e2fe2809d";

TEST(ChaCha20Poly1305, Rfc8439AppendixA5Open) {
  Buf ct = concat(unhex(kA5Cipher), unhex(kA5Tag));
  Buf pt(ct.size() - kAeadTag);
  ASSERT_TRUE(chacha20poly1305_open(pt, ct, nonce12(unhex("000000000102030405060708")),
                                    unhex(kA5Aad), key_of(unhex(kA5Key))));
  EXPECT_EQ(hex(pt), kA5Plain);
}

TEST(WireGuardAead, Rfc8439AppendixA5ThroughCounterNonce) {
  Buf ct = concat(unhex(kA5Cipher), unhex(kA5Tag));
  Buf key = unhex(kA5Key);
  Buf pt(ct.size() - kAeadTag);
  ASSERT_TRUE(aead_open(pt, ct, 0x0807060504030201ull, unhex(kA5Aad), key_of(key)));
  EXPECT_EQ(hex(pt), kA5Plain);
  // Sealing the plaintext with the same counter reproduces the published ciphertext and tag.
  Buf plain = unhex(kA5Plain);
  Buf again(plain.size() + kAeadTag);
  aead_seal(again, plain, 0x0807060504030201ull, unhex(kA5Aad), key_of(key));
  EXPECT_EQ(again, ct);
  // The byte-swapped counter is a different nonce.
  EXPECT_FALSE(aead_open(pt, ct, 0x0102030405060708ull, unhex(kA5Aad), key_of(key)));
}

TEST(WireGuardAead, NonceIsFourZeroBytesThenLittleEndianCounter) {
  std::mt19937 rng(10);
  Buf key = random_bytes(rng, 32);
  Buf plain = random_bytes(rng, 100);
  for (std::uint64_t counter : {0ull, 1ull, 0xffull, 0x0123456789abcdefull, ~0ull}) {
    Buf nonce(12, 0);
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
    Buf want = seal12(plain, nonce, {}, key);
    Buf got(plain.size() + kAeadTag);
    aead_seal(got, plain, counter, {}, key_of(key));
    EXPECT_EQ(got, want) << counter;
  }
}

// ---- Wycheproof (chacha20_poly1305_test.json, "valid" cases) -----------------------------

struct WycheproofCase {
  int tc_id;
  const char* key;
  const char* iv;
  const char* aad;
  const char* msg;
  const char* ct;
  const char* tag;
};

class Wycheproof : public ::testing::TestWithParam<WycheproofCase> {};

TEST_P(Wycheproof, SealAndOpen) {
  const auto& c = GetParam();
  Buf key = unhex(c.key), iv = unhex(c.iv), aad = unhex(c.aad), msg = unhex(c.msg);
  Buf want = concat(unhex(c.ct), unhex(c.tag));
  EXPECT_EQ(hex(seal12(msg, iv, aad, key)), hex(want));
  Buf pt(msg.size());
  ASSERT_TRUE(chacha20poly1305_open(pt, want, nonce12(iv), aad, key_of(key)));
  EXPECT_EQ(pt, msg);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, Wycheproof,
    ::testing::Values(
        WycheproofCase{2, "80ba3192c803ce965ea371d5ff073cf0f43b6a2ab576b208426e11409c09b9b0",
                       "4da5bf8dfd5852c1ea12379d", "", "", "",
                       "76acb342cf3166a5b63c0c0ea1383c8d"},
        WycheproofCase{3, "7a4cd759172e02eb204db2c3f5c746227df584fc1345196391dbb9577a250742",
                       "a92ef0ac991dd516a3c6f689", "bd506764f2d2c410", "", "",
                       "906fa6284b52f87b7359cbaa7563c709"},
        WycheproofCase{4, "cc56b680552eb75008f5484b4cb803fa5063ebd6eab91f6ab6aef4916a766273",
                       "99e23ec48985bccdeeab60f1", "", "2a", "3a",
                       "cac27dec0968801e9f6eded69d807522"},
        WycheproofCase{5, "46f0254965f769d52bdb4a70b443199f8ef207520d1220c55e4b70f0fda620ee",
                       "ab0dca716ee051d2782f4403", "91ca6c592cbcca53", "51", "c4",
                       "168310ca45b1f7c66cad4e99e43f72b9"},
        WycheproofCase{34, "59d4eafb4de0cfc7d3db99a8f54b15d7b39f0acc8da69763b019c1699f87674a",
                       "2fcb1b38a99e71b84740ad9b", "", "549b365af913f3b081131ccb6b825588",
                       "e9110e9f56ab3ca483500ceabab67a13", "836ccabf15a6a22a51c1071cfa68fa0c"},
        WycheproofCase{35, "b907a45075513fe8a8019edee3f2591487b2a030b03c6e1d771c862571d2ea1e",
                       "118a6964c2d3e380071f5266", "034585621af8d7ff",
                       "55a465644f5b650928cbee7c063214d6", "e4b113cb775945f3d3a8ae9ec141c00c",
                       "7c43f16ce096d0dc27c95849dc383b7d"},
        WycheproofCase{36, "3b2458d8176e1621c0cc24c0c0e24c1e80d72f7ee9149a4b166176629616d011",
                       "45aaa3e5d16d2d42dc03445d", "", "3ff1514b1c503915918f0c0c31094a6e1f",
                       "02cc3acb5ee1fcdd12a03bb857976474d3", "d83b7463a2c3800fe958c28eaa290813"}),
    [](const ::testing::TestParamInfo<WycheproofCase>& case_info) {
      return "tc" + std::to_string(case_info.param.tc_id);
    });

// ---- Round trips, in place, and forgeries at WireGuard-relevant sizes --------------------

class AeadSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(AeadSizes, RoundTripOutOfPlaceAndInPlace) {
  const std::size_t n = GetParam();
  std::mt19937 rng(static_cast<unsigned>(n) + 1);
  Buf key = random_bytes(rng, 32), ad = random_bytes(rng, 16), plain = random_bytes(rng, n);
  const std::uint64_t counter = 0x1122334455667788ull + n;

  Buf sealed(n + kAeadTag);
  aead_seal(sealed, plain, counter, ad, key_of(key));
  if (n > 0) {
    EXPECT_NE(Buf(sealed.begin(), sealed.begin() + static_cast<long>(n)), plain);
  }

  // In place: the plaintext sits at the front of a buffer with room for the tag.
  Buf buf = plain;
  buf.resize(n + kAeadTag);
  aead_seal(buf, Bytes(buf.data(), n), counter, ad, key_of(key));
  EXPECT_EQ(buf, sealed);

  Buf opened(n);
  ASSERT_TRUE(aead_open(opened, sealed, counter, ad, key_of(key)));
  EXPECT_EQ(opened, plain);

  ASSERT_TRUE(aead_open(std::span<std::uint8_t>(buf.data(), n), buf, counter, ad, key_of(key)));
  EXPECT_EQ(Buf(buf.begin(), buf.begin() + static_cast<long>(n)), plain);
}

TEST_P(AeadSizes, TamperedCiphertextTagOrAdFails) {
  const std::size_t n = GetParam();
  std::mt19937 rng(static_cast<unsigned>(n) + 100);
  Buf key = random_bytes(rng, 32), ad = random_bytes(rng, 12), plain = random_bytes(rng, n);
  Buf sealed(n + kAeadTag);
  aead_seal(sealed, plain, 7, ad, key_of(key));
  Buf out(n);

  // Every byte for small inputs; a spread of positions (always first, last, and the tag) for
  // large ones.
  std::vector<std::size_t> positions;
  if (sealed.size() <= 64) {
    for (std::size_t i = 0; i < sealed.size(); ++i) positions.push_back(i);
  } else {
    positions = {0, n / 2, n - 1, n, n + 7, n + 15};
    for (int i = 0; i < 16; ++i) positions.push_back(rng() % sealed.size());
  }
  for (std::size_t pos : positions) {
    Buf bad = sealed;
    bad[pos] ^= static_cast<std::uint8_t>(1u << (pos % 8));
    EXPECT_FALSE(aead_open(out, bad, 7, ad, key_of(key))) << "flipped byte " << pos;
  }
  for (std::size_t pos = 0; pos < ad.size(); ++pos) {
    Buf bad_ad = ad;
    bad_ad[pos] ^= 0x01;
    EXPECT_FALSE(aead_open(out, sealed, 7, bad_ad, key_of(key))) << "ad byte " << pos;
  }
  EXPECT_FALSE(aead_open(out, sealed, 7, {}, key_of(key)));      // AD dropped
  EXPECT_FALSE(aead_open(out, sealed, 8, ad, key_of(key)));      // wrong counter
  Buf other_key = key;
  other_key[0] ^= 1;
  EXPECT_FALSE(aead_open(out, sealed, 7, ad, key_of(other_key)));  // wrong key
  // The untouched packet still opens after all those failures on this thread's context.
  ASSERT_TRUE(aead_open(out, sealed, 7, ad, key_of(key)));
  EXPECT_EQ(out, plain);
}

INSTANTIATE_TEST_SUITE_P(Sizes, AeadSizes,
                         ::testing::Values(0u, 1u, 15u, 16u, 17u, 1420u, 65535u));

TEST(WireGuardAead, RejectsShortOrMismatchedBuffers) {
  Buf key(32, 1);
  Buf sealed(16 + 10);
  Buf plain(10, 2);
  aead_seal(sealed, plain, 0, {}, key_of(key));
  Buf out(10);
  EXPECT_FALSE(aead_open(out, Bytes(sealed.data(), 15), 0, {}, key_of(key)));  // < tag
  Buf wrong(9);
  EXPECT_FALSE(aead_open(wrong, sealed, 0, {}, key_of(key)));  // out size != cipher - 16
  Buf truncated(sealed.begin(), sealed.end() - 1);
  Buf out9(9);
  EXPECT_FALSE(aead_open(out9, truncated, 0, {}, key_of(key)));  // tag boundary moved
}

TEST(WireGuardAead, FailedOpenLeavesNoPlaintextBehind) {
  std::mt19937 rng(11);
  Buf key = random_bytes(rng, 32), plain = random_bytes(rng, 64);
  Buf sealed(plain.size() + kAeadTag);
  aead_seal(sealed, plain, 3, {}, key_of(key));
  sealed.back() ^= 1;
  Buf out(plain.size(), 0xaa);
  ASSERT_FALSE(aead_open(out, sealed, 3, {}, key_of(key)));
  EXPECT_EQ(out, Buf(plain.size(), 0));
}

TEST(WireGuardAead, ConcurrentThreadsMatchSingleThread) {
  // Each thread has its own cached cipher context; keys must not leak between them.
  constexpr int kThreads = 4;
  std::vector<Buf> keys, plains, expected;
  std::mt19937 rng(12);
  for (int t = 0; t < kThreads; ++t) {
    keys.push_back(random_bytes(rng, 32));
    plains.push_back(random_bytes(rng, 1420));
    Buf s(1420 + kAeadTag);
    aead_seal(s, plains[t], static_cast<std::uint64_t>(t), {}, key_of(keys[t]));
    expected.push_back(s);
  }
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Buf s(1420 + kAeadTag), p(1420);
      for (int i = 0; i < 300; ++i) {
        aead_seal(s, plains[t], static_cast<std::uint64_t>(t), {}, key_of(keys[t]));
        if (s != expected[t]) ++failures[t];
        if (!aead_open(p, s, static_cast<std::uint64_t>(t), {}, key_of(keys[t])) ||
            p != plains[t]) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(WireGuardAead, KeyCacheFollowsEveryKeyChange) {
  // The per-thread contexts keep the last key and only set the nonce when it repeats. Interleave
  // keys, keys differing in one byte, directions and failed opens, and compare each result
  // with the same operation on a fresh thread (fresh contexts, so the key is always set).
  std::mt19937 rng(13);
  Buf a = random_bytes(rng, 32), b = a, c = random_bytes(rng, 32);
  b[31] ^= 1;
  const Buf* keys[] = {&a, &a, &b, &a, &c, &c, &b, &a};
  Buf plain = random_bytes(rng, 1420);
  auto fresh_seal = [&](const Buf& key, std::uint64_t n) {
    Buf s(plain.size() + kAeadTag);
    std::thread([&] { aead_seal(s, plain, n, {}, key_of(key)); }).join();
    return s;
  };
  for (std::uint64_t i = 0; i < 8; ++i) {
    const Buf& key = *keys[i];
    Buf s(plain.size() + kAeadTag), p(plain.size());
    aead_seal(s, plain, i, {}, key_of(key));
    EXPECT_EQ(s, fresh_seal(key, i)) << i;
    // The neighbouring key (one bit apart for a/b) must not open it, and must not disturb
    // opening with the right key afterwards.
    const Buf& other = &key == &a ? b : a;
    EXPECT_FALSE(aead_open(p, s, i, {}, key_of(other))) << i;
    EXPECT_TRUE(aead_open(p, s, i, {}, key_of(key))) << i;
    EXPECT_EQ(p, plain);
  }
}

// ---- HChaCha20 and XChaCha20-Poly1305 -----------------------------------------------------

TEST(HChaCha20, DraftXChaChaSection221) {
  Buf key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  Buf nonce = unhex("000000090000004a0000000031415927");
  std::array<std::uint8_t, 32> out{};
  hchacha20(out, key_of(key), std::span<const std::uint8_t, 16>(nonce.data(), 16));
  EXPECT_EQ(hex(out), "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
}

// HChaCha20 is the ChaCha20 block with its 16-byte counter||nonce input and without the final
// addition, keeping words 0-3 and 12-15. OpenSSL's raw ChaCha20 takes exactly that 16-byte
// input as its IV, so subtracting the known input words from its keystream gives an
// independent reference.
std::array<std::uint8_t, 32> hchacha_via_openssl(const Buf& key, const Buf& nonce16) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::uint8_t zeros[64] = {}, ks[64];
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, key.data(), nonce16.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, ks, &len, zeros, 64), 1);
  EVP_CIPHER_CTX_free(ctx);
  auto le32 = [](const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
  };
  const std::uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 8; ++i) {
    const int word = i < 4 ? i : i + 8;
    const std::uint32_t input = i < 4 ? sigma[i] : le32(nonce16.data() + 4 * (i - 4));
    const std::uint32_t v = le32(ks + 4 * word) - input;
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<std::uint8_t>(v >> (8 * b));
  }
  return out;
}

TEST(HChaCha20, RandomizedAgainstOpenSslChaChaBlock) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 50; ++trial) {
    Buf key = random_bytes(rng, 32), nonce = random_bytes(rng, 16);
    std::array<std::uint8_t, 32> got{};
    hchacha20(got, key_of(key), std::span<const std::uint8_t, 16>(nonce.data(), 16));
    EXPECT_EQ(got, hchacha_via_openssl(key, nonce)) << "trial " << trial;
  }
}

const char kXKey[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
const char kXNonce[] = "404142434445464748494a4b4c4d4e4f5051525354555657";
const char kXCipher[] =
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f"
    "4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f"
    "76b2383565d3fff921f9664c97637da9768812f615c68b13b52e";
const char kXTag[] = "c0875924c1c7987947deafd8780acf49";

TEST(XChaCha20Poly1305, DraftXChaChaAppendixA31Seal) {
  Buf plain = unhex(kLadies), nonce = unhex(kXNonce);
  Buf out(plain.size() + kAeadTag);
  xaead_seal(out, plain, nonce24(nonce), unhex("50515253c0c1c2c3c4c5c6c7"),
             key_of(unhex(kXKey)));
  EXPECT_EQ(hex(out), std::string(kXCipher) + kXTag);
}

TEST(XChaCha20Poly1305, DraftXChaChaAppendixA31Open) {
  Buf ct = concat(unhex(kXCipher), unhex(kXTag)), nonce = unhex(kXNonce);
  Buf pt(ct.size() - kAeadTag);
  ASSERT_TRUE(xaead_open(pt, ct, nonce24(nonce), unhex("50515253c0c1c2c3c4c5c6c7"),
                         key_of(unhex(kXKey))));
  EXPECT_EQ(hex(pt), kLadies);
  // Any change to the part of the nonce that only feeds HChaCha20 must break it.
  nonce[0] ^= 1;
  EXPECT_FALSE(xaead_open(pt, ct, nonce24(nonce), unhex("50515253c0c1c2c3c4c5c6c7"),
                          key_of(unhex(kXKey))));
}

TEST(XChaCha20Poly1305, CookieSizedInPlaceAndTamper) {
  // Cookie replies seal a 16-byte cookie with the mac1 of the message as AD.
  std::mt19937 rng(14);
  Buf key = random_bytes(rng, 32), nonce = random_bytes(rng, 24), ad = random_bytes(rng, 16);
  Buf cookie = random_bytes(rng, 16);
  Buf buf = cookie;
  buf.resize(32);
  xaead_seal(buf, Bytes(buf.data(), 16), nonce24(nonce), ad, key_of(key));
  Buf sealed = buf;
  ASSERT_TRUE(
      xaead_open(std::span<std::uint8_t>(buf.data(), 16), buf, nonce24(nonce), ad, key_of(key)));
  EXPECT_EQ(Buf(buf.begin(), buf.begin() + 16), cookie);

  Buf out(16);
  for (std::size_t pos = 0; pos < sealed.size(); ++pos) {
    Buf bad = sealed;
    bad[pos] ^= 0x40;
    EXPECT_FALSE(xaead_open(out, bad, nonce24(nonce), ad, key_of(key))) << pos;
  }
  Buf bad_ad = ad;
  bad_ad[5] ^= 1;
  EXPECT_FALSE(xaead_open(out, sealed, nonce24(nonce), bad_ad, key_of(key)));
}

}  // namespace
}  // namespace wgcore::crypto
