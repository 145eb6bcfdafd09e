/* The form of a credential: anonymous, API key or token by its first
 * bytes, and which API keys are well-formed (what auth_new_apikey makes). */
#include "check.h"
#include "credential.h"

static void kinds(void) {
    CHECK_INT(credential_classify(NULL), CREDENTIAL_NONE);
    CHECK_INT(credential_classify(""), CREDENTIAL_NONE);
    CHECK_INT(credential_classify("rk_"), CREDENTIAL_APIKEY);
    CHECK_INT(credential_classify("rk_nonsense"), CREDENTIAL_APIKEY);
    CHECK_INT(credential_classify("rk"), CREDENTIAL_TOKEN);
    CHECK_INT(credential_classify("RK_0123"), CREDENTIAL_TOKEN);
    CHECK_INT(credential_classify("djJ8NDJ8MXw.eA"), CREDENTIAL_TOKEN);
}

static void key_form(void) {
    CHECK_INT(credential_key_well_formed("rk_0123456789abcdef0123456789abcdef01234567"), 1);
    CHECK_INT(credential_key_well_formed("rk_0000000000000000000000000000000000000000"), 1);
    CHECK_INT(credential_key_well_formed("rk_0123456789ABCDEF0123456789abcdef01234567"), 0);  /* upper case */
    CHECK_INT(credential_key_well_formed("rk_0123456789abcdef0123456789abcdef0123456"), 0);   /* 39 digits */
    CHECK_INT(credential_key_well_formed("rk_0123456789abcdef0123456789abcdef012345678"), 0); /* 41 */
    CHECK_INT(credential_key_well_formed("rk_0123456789abcdef0123456789abcdef0123456g"), 0);
    CHECK_INT(credential_key_well_formed("rk_0123456789abcdef0123456789abcdef0123456 "), 0);
    CHECK_INT(credential_key_well_formed("rk_"), 0);
    CHECK_INT(credential_key_well_formed("xk_0123456789abcdef0123456789abcdef01234567"), 0);
    CHECK_INT(credential_key_well_formed(""), 0);
}

int main(void) {
    RUN(kinds);
    RUN(key_form);
    return CHECK_SUMMARY();
}
