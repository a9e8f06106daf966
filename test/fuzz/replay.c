/* replay.c: run a fuzz harness's LLVMFuzzerTestOneInput on each file named (regression replay without libFuzzer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "Usage: %s FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf = NULL;
        size_t n = 0, m = 0, got;
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        do {
            if (n == m) {
                m = m ? 2 * m : 65536;
                if (!(buf = realloc(buf, m))) {
                    perror(argv[i]);
                    return 1;
                }
            }
            got = fread(buf + n, 1, m - n, f);
            n += got;
        } while (got > 0);
        if (ferror(f) || fclose(f) != 0) {
            perror(argv[i]);
            return 1;
        }
        /* a copy of exactly the input's size, as libFuzzer passes it, so
         * that reads past the end are caught */
        {
            uint8_t *data = malloc(n ? n : 1);
            if (!data) return 1;
            for (size_t j = 0; j < n; j++) data[j] = buf[j];
            LLVMFuzzerTestOneInput(data, n);
            free(data);
        }
        free(buf);
        printf("ok %s\n", argv[i]);
    }
    return 0;
}
