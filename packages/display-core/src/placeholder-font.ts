// Glyphs of DejaVu Sans Mono (Bitstream Vera / DejaVu licence: free to use and embed) for
// the placeholder screen, so that drawing it needs no image library: printable ASCII (32–126)
// at 26 px and 18 px, rendered once with sharp/librsvg — one <text> per glyph in cells of
// cellW×cellH px, the glyph drawn at x = pad, baseline y = ascent — then kept as 4-bit coverage
// (two pixels a byte, high nibble first; glyph-major: glyph i is rows i·cellH…), deflated and
// base64-encoded. Advance: 0.6021 em (1233/2048).
export interface BitmapFont {
  size: number;
  advance: number;
  cellW: number;
  cellH: number;
  pad: number;
  ascent: number;
  /** deflate(4-bit coverage), base64 */
  data: string;
}

export const PLACEHOLDER_FONTS: Record<'title' | 'text', BitmapFont> = {
  title: {
    size: 26,
    advance: 15.654599999999999,
    cellW: 20,
    cellH: 32,
    pad: 2,
    ascent: 25,
    data:
      'eNrtXX10HNV1v7Ozq9VKWmmNicuXpUWGAE6wRNZ8pCRekRqXpgWJBFpKSiRI4hIckIKbY04IrEMKMQfCmiY9qcrHqiWcFHrw' +
      'CrtOD7jHK0JD2gS8oing8OGRbMKXzY5tSbuSdndu++59743kNYpsbK+E/f7w+Xln5s3Mm3vvu/f37rsCONbK2W7arlBs76FF' +
      'nXsUat+tUOuAQp/tm+qp5jZP7x5lb+u6an7HKLU6OHKwaE7ICB2l8vf5DvNfGCU7/KOMrHD1MAFPEWpZiirGoVVIjLl8xfjy' +
      '5M++ClCJ1MYAvGsS76zBNXeS0PWYBe4kUdJdZLETWTIc+X8B4ksxDLBpc2GT9dqmMAAE90KqhS5o6gebv0fnWm/hA5+ujM23' +
      'ViF/XwmqeOi9O8ULgWkhImlcff6Cn1/dT2806O8Derl4r7oi3q9Q69gfSBRA5yUpkzci5sMMF+7CHepuS/IKVWBIIq8YU2gG' +
      'f1+lI3556GZ/35dp3OKYQeyhp7rHKj76wU8/AVWsPdzjaJyqQBLvZ1RTeFC+WHsPJFkg4s3Q2sWoBdoZtT7jSTeDJwwQcNKj' +
      '4E2Kl/vGro4zrI1Ssp07WIhvy7fNEcCb3Bq+EF8CgKqN4LGfttt4pLOwiD4NBAcgMMQPoVEgB0v4qGG9jm3yM9j/Vl75W3yO' +
      'BNcgvsgSiTs3s6rW5ENwOaE6rSe1IwpV5xUy1duAYb8o0dk4Ln+yvoddUPnPAJV5iA1BzRBA7TBUF0PBvQDR3WDYPXUDAK27' +
      'AVqz0V6ApiFhE9JtAEFxi5T4pwLvB0+Kukw4T6WK2CF+tNDpipMYm1c2l1uTL+svnRsPHB1108dJT2pnQBkJjy2NFATG1cF6' +
      'LYGdeqxS2qrYHRJ4UcmBMmUAflSnsSmbjNyj7hUebNE9dylEZoG/lvaHgll9cUG/kaUvbncN4LWHZ/T+VD9e/ZB+I62Yhq21' +
      'IqHHqnVQ67J++uoxPTDF0uHwYbhkeF3kHnWHMqBHo2ZUoYb9fcHVesT1J9cXNOkHPe/wKbc3rEdj9b7onnDtau+zZBzfrr0j' +
      'uYGG9PZt2/5Tjm4qJy+4EO3vEjgrv+TObQSfaKtdfQLZyjmiv/C+9/C3Ha1xymd7tST2TwOZS5d2vrl0aRggyL7eaoCaTMZ2' +
      'Mpmu6fcyCZ25+li0ON32g63agmgbkdAqmlZGx8AebQ6aS4y3mP0/Cu24xkapyDFEGbrenslsPyYmh6098ZKWtexUaCa04Nt6' +
      'htNTl7W6ZJqs0YrUqumPVI/2pZX6VOlpvEnPnIk+rW9tJRN2vR6M2GCJ+1LhqNk8qLW3Xd8+vVZP63qq/9oRGbPTVPzxGZRx' +
      'mxcLVoEeNlgM+5DGr3MYIEEvleoHiNK8aq8FqB0j36FLxCo0eB2eUHWROmmL76hyaNxb0rmAw7/FttNv7nnutW5/kOoDiNJg' +
      'dg4BJMjbqy+EvLiWn29nusiDeSmi8l7P/Vx5Zc+4avP78vsiSuc2WHhAIjMU0A5veZDRuNBpbGQ+AhGLk1HZmmepVLcLbHTY' +
      'h7Mxgyx/u66FE3leEx59Snv9Ma2P7RrF1VHDUv5NpVblduUomrbS80VKuz3WMxLNL0gVNdIqij65qNQx9WZjY+OppPmi5Sah' +
      'Mo7fYvmOK2x0WH+TmEF+7DXnwAnaL5B6RMOhQ5VOZYGMtPT2Ft/ocPhUh/h30mm28WXtuqH23WK6l1pt0YLa5ajViAbf+1wI' +
      '5tmDpL7OC0jW0/MQIm7gkxZceVH5CfxdOmxTSlFVVKj1cYmMbQslqsxVSRTtVyjdIpF/HCRatF2hZJdEviJIVF3o7n7I6W4B' +
      'qGbvugPAt2rVqu84q5rVIwBMB5W5fTmTyWTokTvFazAaikQipFOdet1iv2j4lq9IhIjrGb32r7ZDUhwBOAF1zJLUUhfVmtcw' +
      'Wopa9WScEjJubgzBQtIFE4svsH3xpFDZHGNxufgrzx9JC+O3sNjGYS1meKYL4B0wr2Pyuyb6SzwbA1vOv4tpajwLcSxEWpb8' +
      'r3vpfX2C2I8P02+DUi+94oicf1erOULck1G6VwimcmTqx5j3Dhk89j7cuU5agWsQ31Lz7xfLKn6mEL/Me/Ruogk5MCKRSMS1' +
      'UknXd+vQhEmoxHC16ikl2a/twWrNyWgnUjMsUS1piUF9wVp9gSKjaoqlgpso//LbYuk3Gfch/oK5KNy5hUcoNgae9F7l9bFG' +
      'idmVtSwlqGL6LbZdzSTVhYs+Ll3e2xCZWjeTiFtpnJfkzzndptnW6pPD4BF3orH0ipGqkn4iQLVDR9cKz49kcgSMJN1tCb66' +
      'me2BJ4koXX7j4vLIn6H4eyOh5t/5+Jr0nxNZYP+Z5CE2qN6taUTF6XWjCkm9bAFoKJCMdgG0k8iktoNhEYo6d92XJ+S1Ea9i' +
      'CfzY3ddWu7OuFq1WzQykSe4rw/AZlsU6Zwtm5ZfGghTP468Iz77Y9PrvTS82vfgLR0f8e6Dtr1ce/vH7SPJXHs3CJ+XMcKaN' +
      'bPauRueHdMp9mKfp3JfCX4ZkYPhDNdvgK1LdjG9gQS1NfNp2fiLhvLQ+w3xYu9zGCpc4/UguU1U/T61jItfsu5LaB7hngcep' +
      'tU28wr+GWstHcYR8+rsH31VDUuOK0Oel9EkRCmkReleZ9y8pafIquTrDwo3yUPEOeWS8RcrpVnld8Cd6xptZA3Ka9F889yH+' +
      'r3zoXTazc7WPgA/JiTMFQ7C3JOqF1IDmCpRPGBvTrpty4pq0IYprYi/ZW0Idwrqe0udboOfVdO9UaCa1Sx7/WxnUoSTYKvFH' +
      'jdcQYxLbIVyKNgAPRXutPZRYAadfXtsPUD8IJ6Fz4wD9nnz3XpEyE+vyOmFIDgDE28SZTQMAiRaR+FOrUZCPZgEa6ApfMQRx' +
      '7iX9yg2il/pBOAXxoQG+2yUrvS3CO9RGoXOHnirwDpCrfTfhri0D0nDazmGfQra8rSlkFRv4iypeqMlZkgluGorLj945oBay' +
      'Uz31Iyo0kc6cD0N+pu4CBTDZcxM8i7VWBSkcCcaF0aNZ1FJxjwevnTPn5ALFN2H5D7nYphBydt6FG985PJkWKmvbksns4iwf' +
      'S9IgANb6xmUWv1sPQNOYQpSWQohZJoE4qLLWN57PKTCil3fI/llORkbWVg/MTWTVFVXEyAvko+EViEaIkFejAImZtb7x3GRe' +
      'P98zEr3/aJnHTQcgZgrxEbZg+Lo9xjL0LJjdkj2XlrtzuMT2gSZFPdrVMLFrCuSe5147oT/3HhS7GWxN14Pnbjai+GuLjaw3' +
      'rYJE8FxcVgLfm8m8/iO5/IGIP2d03XlJ4qBE1Oa1e1X8Fh/SkdyoQrWFSZErI1Soaj/IPc+9lmSc7zGs79vHz3JuQj4LIv5G' +
      'PmnZxU+32wX/slNbJNKU+HAkEvnUJHb+9yFxxTm6l6xGIwfUy/7QUGMjr39QfzgZlb/VE4ElPnCDyqiFhjHBYH0Qw7lfNKbG' +
      'r0GPWgNmMpk3D6iXA0blXECawJ92MeHhvGBn2TH+JswjgrJT/H+uYp72sWYVbsSp+cAqLRYCfWLTJomiJC/ivHk3IM2wzTLv' +
      'iiYMzsASkyuj2IhCQacNTkJecHL+w2YP4UQbHfkUZU6g9GZaAALvayvlHCRaGYlc6GgWdl/0YXqeCs2AdpNQ30GefhGR7M7c' +
      'SGI4Ij/rod4TcqDouMb4MCfPuM/nohnQLpPmD6BVmj8xgBdowr3iCCC/RpVkCUS0Xc1L5S+HoH2UbcSuzbhdhtVYkJ/3tDLz' +
      'p6S/5rYnpVYsEgvAAnms/5GaMl95MkZ6B3sPbac4zYwuT70pfZ8vyfUKL1oyIvYiprdLNLKoIFFXBZtP0XNqSKGmgkJ+OkzP' +
      'ktbeUrSoUKVwIAmBNTwzxO9NzZyPzEiUFf5LSKoH0vC6qOwtmOkRPkwXQK2wKJ3i+9Y6IwApsXZWOzYORl4sWNbm0iF/llGs' +
      'o2YPo6bepl5GNXtiHYwqsukQI6OYB0aQyirUuUeh45sVkouiB47K38zMDoDKXaQfYwAB1hQnpJDdoVC8X6FLhxX643GFLsKw' +
      'RC3JLoVa+xUKDivkzytk2GdJBIm7FYq+q1CNo1AFKsQJErRaFS9zAsJpE/bPrJfmvGBx5kBTIczREy20ctaQiFfJbyX/j2gR' +
      'n47GaLW2Sph+8usCYjqgLKJKJlLUb359nk/HdG5/fA+KcJODKhqO5kMmP4sfd6bZ8MJNiM/Kxz/3C+Udx9szGRlMUlT0pIyZ' +
      'zrPGVRx1Ck2OAlXQ1CCQl6yPQD79W4CmEIFiJBvx/KYtOKx6ztObx3PLrwgdbCS3H3RM/krkb3R68qeI03MTOZdC1SbR3bVi' +
      'Hm77l8m82sZxGSLn55h484K/opV+ouXIzSBEGWWEoqP6t6xCyb18bSMvdVB/z6meeY3exA7jpnGJeAzlPfp1z7o/cgAJUYjH' +
      'FKFIl2PUXt4lYLX+Abcj7iSPrRqLW3jVIz4agk/TN6d8FMp50nnLEzYNujmCKb2SdDbiVhYSkRmidq1ekkKVGulJull/Ohdm' +
      'Qt4p6b7ogdna8RbwpMibQefXFt/xBkR8RYYnF5fX/lH4RgFcJ68j7hHRRyQ+EpEBXLnjtxm+f9+TEZqyU2d0F44oyquMGc4k' +
      'F3rPCV1ifa2BDFssCwZlAsIpuDPNTrOQbJneUa78IdUW0eLRll6pLkSwUwxK5JSbGwXCnQ6yb9GnMvFFfQiuESEyi3hlUmxy' +
      '4EysyiKYKNMDw37prtkdasthskdtDGwfUNtgG4bi0iRU59JyYdRfUMGxu74F1ugMkb9tNGUF3wFI05PX5VTCn9i8EaP3Ers9' +
      'uICGSD2N7oVbN0CsnzZGprOQ6KHtpDhOmyKrc+Z4EawOgMCYP5sO2S1iX2fVUPwi8VG8xeBA+0rKUHMaehs20nhg++rgW7we' +
      'lWwJjJPUJTFU4TB3LVbxKFDuFF9mj4ru3FWTsraA4F6MbT0iV02seZEDIzwHXlcTyYucR2aK0L9ZLobXy88/fywhpwUf6oTH' +
      'lM73SY1rpkUdrR9TiazJwfqcJBU6/Ow3zc/zyhuvtFCOvykUgmbiGrH3g5yd2AjMjBxKkZTI+tsnlxUrxORKSjyfZEPkHnAm' +
      '6vxxlR1agc0BuSko3dckvYjoiMo6DThqrAzbzT8Y+ojOH7CO5l+hxSmVxwMLIpHIhVqeotrWWC9qT7X0oN674dcHm/TB1Ita' +
      'EtXBRfpgsvRgvXtwh+BfwrrkSf8kVL7l302bNqg1WRxW6KKQQs0w+9Bd1+37Rsby5dcd3nH0v69HVNcygLj+tE2ah3N31k8o' +
      'UuAmA0W1grpJue6ePnef34S9f+5+QHeP4ISyB+5eQnd/obvn0N2H6O5NnLBf0ffVwyx/t256St1eewVzTtRjVDn70LIVhZI3' +
      'Wrb8CGzGXPc7bbhkeA7tOWnNPPbqUwpyqgWDc4BE3tnZQiQC5DEKD8VDgnbc0VoB6yhqb3D7LUAjt1MPJFh73q2QovfOu1VL' +
      'IKH5n+rhY0N9iNvpt3yL9fOTqHavtL636l6OSM+bxGo27Fv1acU2mRPzSXTesMhtTr0V4oUMYnbqaK+lCFGiOVUkJpmTHE8l' +
      '71WNFx+3Hs6x+4TvyB0jx19RFqOxQs+H8b7ponnfl+HHL2wc5/pr9tZbmVGKF0OSZ42PKA6AOGlmogfUli/RHy/7ijmeK+3w' +
      'UXUFb6yMZ5UPGHeamVmE+Lb8E8yQxp+1UCd9XjFbrO7HbpFOQaWtUqaThe/fm+OppwtgGUzav+tuiHPrUMZ11BrbXXo0OlLK' +
      'DPrwnwBW8cXOU5tZ6nxplbMInovLtQH45A2lftMUyLemjZFpYZHHZr7z4wQvYyd2gJedVhHjJTlybZExLFWgoCtI4Jo0ig6r' +
      'fS90lDSZWXsRBacIxUbAzz3X4NPpNCEjiePyqTxXzpb9W8Zf3BXWjDVTBAH85bdZfwWzz2vegrljx0aMRgVXkvjWlcuvZ1JM' +
      '5chV4CrRaCVkP9XDUm6to/EQmP/A0d3Of5T5p3+Ger9E2RI4btj0MznXcvY2jQJnTQIk3F0G0lIuiKQfkTmVKt8b/rLb+m33' +
      '308+70ijWdN8a9pMWrPzWFiM7qu/Q2BOrb/R6ehvh1rtE5wZ62r7WOhE7jmARZQVLG7El5tkwDhHEJLKkpJ1NUUqI41vcOvX' +
      'bmNmrEbl/gKcd/fflGf+9a3hkFPMfrzPNf7G1nt5s0y8EKI1R2aqOBiO7wZoGFHxdN2I6u9QovK1qWcP85wS31vm55K+y/P8' +
      '3cnhA5qDPhR68Hmr+PyvQDFtZc7f8D7tsh+lyIiUTB8yI5omAXmet/sBZ6pejixyyZn5kgH/ercltTyJTpuiFC4/BKNXravX' +
      '1mWnjzxUlEOgy8blb17mpOuy0Doqz5Oln6Auq8rn1OVRhot16OQVukKdl+NNC9RLDVdoqsuCh/ZN0N06cwpVEd0nkKHJ3DKF' +
      '0dJryGQ0S2fOANSs+T3NRqZ+oxcbdPE7czPuhdnUPJ8642bjljba3W07l1JEGsAf28VvO0yuxoaB0lzGRJXXdAvVI23dDWLH' +
      'YWBUlCtOdTAaOIRoFrUF4WPz74eTwOvvZJU3kqp6TTX+9AesZ2KfSGpQeW5NOZ1XMK4yZqp15mNgMuJcIV4J1vkHbt2U9jHw' +
      'WIPs/726TrL2t6sAHKDM+QcHIH+Kf0lstGX8lrC23srylxAbd0nqEiOqml9iN0AVjYtY8q1EtVbBrItAzLokBlRZaLElVV6h' +
      '+Rex+Y35l4TgX4gtS2xQ/Eui1yv5FzdimhotK1f9X3OVjD+MFBaXZKX8PWxxvcMRMHnvkpA/wT6x/MlstDaAhqySurrJyD0K' +
      '4gqWOlFJkXe8tufAi/Ju/53aQshIYGERewaeP292q1FPF/lXlmH85jZ7rl8pw6Q4yvKUbzuPbSYCodO5Hwz6tJ2az+7cD4Hl' +
      'lsA+NGj2NPP6u1q0/eNaf1X406+nadCE/Jik3m402qS/dw3+u4xdPGlduc97j5vyMc/u2w8vSOhPmsHgvXetxcdSfMVCW+c/' +
      'm2XO/xOF2LQDP8XyoBH5wyKnBPqIgqJc0+4Hne7u+3/vtQeD/Dqs8LpZuWl8QzrNJ2yZZf4f1cNg+3eofRCB2M+J9U/MjIsT' +
      'ahoDrz3C9u/VNP9mpHFU+i+zhb73EPUn4je/o1ILiO/k+VLwRWyfRQXkdjJ3DTonsFrkHnFRIpGXRm9s2G0qUyHRqxacWvco' +
      'y1abVRRfZUEFJabLGcyY/L/pNi5HKUYxTS5ETQ4o848X29o5T3APQNNe8ZdAYn0AwRHxs6jzVDUKiWGwBB2dh9dHPcJ/MR0z' +
      '97yPxsM+f2/8TK5fvKI/uoIr461bW7uONLQVWwL8F4QanJCP2e6aPM/us6gRIeOJqJp280l0BGPPyVOVTlhlB6b6lsiJo340' +
      '3aNsWFGpWVLFDaatjN38vKqzmHxRbnyrwBZORYQlOZmBSPV9KWmrygnLTLtZFH0QeRUJS/eXFjcMkezjd5Q3zNm9UR2/iUxe' +
      'zu0RKsvZSYbd5pPJQslepb+texXFF8zFZOqSv6jqzhio6YWkdo3adfQW066M3hCnd8NepVM5k7re9rKvlGcAj1+6dOlSWips' +
      '0pVvTuzu7k7pSnK6/nO1Fra42uXi09KyZPQgz4dOJ5PJ0Amd+gnK2C54YK36XCoVsbbwOfkmUe36uqXup0bte0o8OI8aoYVp' +
      'VQ47quu+ei5xLZgumDrB0Z7ufd3EuQa9EakafyVl0ZN00yznHtJCCe5fT/wwfzVqdiPPQS99fuIxtV8oio4qafhxXTjNrbkL' +
      'sf7pITekciWxQWeSV9g7pUQYCSURNcUvyjtPyFTYXWrXpr6vm+upJquznlDKH9VZHsefCrOuXf3GoyEwO0SYh/jucuHJBJ9b' +
      '+h0O/nzCgjz9zZnwnP8H7/5mhg==',
  },
  text: {
    size: 18,
    advance: 10.8378,
    cellW: 15,
    cellH: 23,
    pad: 2,
    ascent: 18,
    data:
      'eNrdWwlwG+UVfrtaHdbhbBIIDRBZcTg7gAUGwi0XAsyEAYkjHAViA6nKEWJDAdMWYhdayMBMZDoDjEuJ1UJDG0rkQrlisMxR' +
      'yoTEcmgTAvEVTuey7MRSLB/6y3vvV2xBYuJ4HUJ3xvnztP/u/vv+d3zvWID/o0OZzmNFgAZrYm/I0iIazDuYPNOTdcsj9N1d' +
      'a8Ch6pNo7LU34TCh8oXdka9YwwcSg++HdTg4wj4vjklrOwDMKp33xnkAE4QQogFg4sqDeiYCQG7JApyjbbfXfs04PDkAYL7+' +
      '5Yq7keFJC14Kfs/zONiacssMW6SNtwzeon9NC5/AtVoHtrQi11NOHR/vD9BZte9wmmxNd9ALmRYL5vfbFbQep74FAKbDW3lh' +
      'AHPH7fM/A4BD6tPPAJ8d/qBdz90HWbiXnq5ujZIsPgWP4mCvNJMszL1iPUzRARZuOuiF36CUz38PnzR7/REP6wCHBaybVtOT' +
      'v+DNmeB10NrrLiSJVpavNYqx5/Mq25hH9d4jcXBJAX2TB/NOHiOsTkvOXgOPAxSU+MKuMrB0Q0VJAqDCA/UhHbQUKG2VAI7U' +
      'SQtSADBVpO9FPVMKDTAFUo2LvVna/Q3yIs+BoVcP8eDn1TlradCkzalhuXI18Iul+FdfJYu35HcBk0ofk84mHkN8rSpn2Rvk' +
      'bGnGZo1+qQ/Lfd7OY2b75YMyy8nlV4BG+dwuKRU8yyHJ1TzkhbPedwkPbn4j20YmL98XvpqlMJCt0crcyu8B4Nh1X67Hdaix' +
      'F4k3f9+KWqWtc1s/BYCJSrtKFx1+YIjGQXoWv4s9w8gpwZp7ggAmNK7dAGp+6bn5e5x8gB+WpVLaq1hipCB18uv7Sli8Kvfz' +
      'qv6wjGypfdX7P1hQZP0Lj1HmnaPXwHurEh1Jc7olC1FJg2VOZCm7n3fS0Z5lL5brw61YTjffXZq6EItxzpggwi7n9Q+yS5dW' +
      'oNHxV0LUA2DrAUsSWaTjL+DsurYQHx1z9BaEkTxtcoqNF5619TAa9FdBDFcd/UUIRVaJCpbcGfrY+UpaDPcJsuKuj7cRqbuk' +
      'UW+Rpnf0pFbeWY6bUyNEyiARMF1Bu3O9EH9Ca/1eYQRNvw4Qk7smZaOR2VLMO3wCy8a0D9nUfsYy8Tmrfg8b/v7y8juR7UII' +
      'o1D3KeeSRArRj6u55vLT+vl3R7f0T7zmc2h1t7WRf7C80c+/qq38ChYp0MUsj3YkV8776SCuOS76aPKME8EoKQAf88MVJ7Wy' +
      'fkyk2hMicoWNyAUeIt1lRNqbAElloPqPfVUA01pa4iwGPBmAr91Fjt0O5Odj6IWOCJniWxq8aZhy+5hRpv7qO4jcFsf9VrxQ' +
      'IWU04s0KskK83S50W6/Pm4+SmiNEB3nyGV4DXCpjiRpBYKnm2VNwfQUMQqzSVy63/A155NywNY5qHXtLiXoBnAnQ8KWiHiio' +
      'ArDtYBvlL4NSNGuNNy1AtKJGxX/YFIwZXubn5+frAE4hBD73ymBQqlWuNK5Jnlcv7Wc4a1+l7vtZ5+z8akp/Vijr2mhc+H0K' +
      'bY45Lv6L2z144iUb+TkoblZpNn1VvNjrVzbjbHNj47tomFJw2Ha2wD6ywKDi5kS9ZDDMg5cvwLMWvrMhNvZgFoIKNgX+dw7p' +
      'YxbZuxm2lgYAXO1g2cmWH2GJJQWX4Hbb020hZKm2qFBKeAVL5TSUZ/u820mOY2KtQUKwd65tl2eXjt502feFCkY6tMt3+9zz' +
      'R1TrWxkz5EifFWF7ksuSa5IqcNp4JJTmk6DNJtAwJbbeA6BENpPx9H3BU+anH2QTuHjwDlbJqHQmx+iw34/JhYWFhUMRwcFz' +
      '5syZM3T22Orq6modTJ2dnZ0b4Xs7zrqBORbbxLt+Wvw9ZtW1aYZQhwiktSX9AQD1/sEHyLU8S6eOHgdtmswyuVAM4nqcvz1q' +
      'kODWLlQgoUsNS2GI1+hnU5sj/UVEBpwSo56cjSuixovCycSIH8UJdh2+duLcMEDOh5hRAzUBM+9MACyA0ubOANjD7ko0va9r' +
      '3ZAbAEdVMeaKYJnag3kAW5P9SzRYPu/Ubb8uAvhAevTNMqBvfe4R+s81dY/tcz62jXlVwMGcNcl+frWbOJlXWU+oqoejiIhO' +
      'mQ13LTSjDKRbWpHDNdXVqPW5TeS+TClmLfoVgzKySj6jrZAQL6EH7Z2z+FMGSqVl5FApsRUqgkgRgG2grgU3OvTBmx3sbq3y' +
      'bG4Te982JguQTJUvSdCdB/9pnMn/CbA/RCtkGTh3dhmAso23rJRlMEeCgChrjFMKatSbdVaCWKVTBwXI096Gv5jbMp52rPqm' +
      '5vOqYmIzaVfiFsKxMVA7gRy9LUEkOXpnF2h9TPpqs0h5lpYdAxNGRM6dv0rjLWPp9UYZBZXhliaEQMfkXxoMegG03iwctYvc' +
      'UFeHZwfr6l7azdlvkK8tWhTgO/cZtNh8Bt25nHaHbcHgvCFgCFthOE6EzlWr3kZyS12d59tnRyYN0a/zaY+mCoHLcKROuq4I' +
      'wJwCkjopormcE1AGZFqwAZ5/DUAZBHu0ls/2c4w2oRZIMJC0951HobwtLihcg8Kx2lpMHU9nqePwn7HoHsj+ujeIrKuLfffk' +
      'bNIoiQWWK/Q1U27tDTIi5QjPKtV8H8hjHu1bNOzOBhlZ2pyoIMymBaVLtUgIVzoakgy/l/MLeY/PJJ+9nF04qGMPv/PZfeGW' +
      'bfOQvWr1IKm0ks1RGik87KYBYlHKdztFlNYYuxTngrNLo1grBvYk2zr3p9KasXGDSIkxjJV+VgqV2mccObhoEUpBwdeRfZdB' +
      'MgAw6WuG+hNgEzpo6TC0dgP4a3RfRActudb2OpI3h9fVIOkrnopkSUuYSFsih8gjdSI5VYgpxW+ThmjXdGkKaiGvCvfXQ+WX' +
      'xg4mOzYyWVBCZPsbTJp3MOl6jEhYWECk0sukPU4k+JmEWJWxsdXZYgClz/35UWhILTvZaUY85ENdXWDCLe4EKGggo0rmFsna' +
      'obMRjrstO8GO6uX6khNlx3GwDOpJRsEtvxBYtNT65ixOstP0NbHTbGMSrb7WC7Z+crhvpj3kcJ/Uv9vhGlgqMJaxZSMw9mLO' +
      'hMLxDVmKPRp/wJdERRrxuiNxZayWA5CYl0Azwa2oTjjW0a2UNvBkLIE5dv6SlhHVzb0cvDhkTsZfxYAbk09Rnfy2MZHXFfTa' +
      'c4XARfrfnXHfUJ4KojzkSHt/wuDjHMTG0wz5Z8ZlMVfuOCqdKsmn77qw0wNgjokBMtCTx+wQJnEqLgcj6yTAqcHIE0HPXjeZ' +
      'jIoc+zGJSzOOblYHWdcYFWmXZMSD6U0qkeDyCtaeSlHcxWLAIE87Sac/3Dbc+bwGgG0yE1hFPCFYUlAJFCY2Qy6hve0aiYU/' +
      'wMWhTU5SGPsaloVSTsgpaUaUTqMgN9W78hkg59ZSEQtNPnobXxlYt5sfxGpXcVG0ssIDajK32dYFMOGBZBd283x8e95ZYQDH' +
      '6+H3MGp8+t856P4twrsAX9DfrmLWQ+3PwGBDFovMbdUpyaulWMDsO1Sq07kblhPrSms4BIyxyXFwetjST8KobHVu5Aw9ReX+' +
      'KsrVT9sIeA9bkv+MQAXT+Q8tKUaoUQ8JodoH9PycHkZ97reaeX+5UQZi4Ww92huUawiMJfdVwdDYFAz+fFBmgYqGF7nca4bX' +
      's6RjUlpkNomnyjYOF0+19pWXl3uoPieMqs3kLONHbHuSgywZeGyG8SLjG9gsB4v2Sb2GSsWZyrEsJGfqypkyc6bq7A5nlYkz' +
      'DTKZzJysKWdKzJmilEMmQM/Y54LSsr9ysWWJXF5z9moNJ11tTF45bx+tLCYKWbvtKRJGW4JsujmJlSxQlgLYjMKiP9yjHI8S' +
      '0GbNmjXrvD2L6o1SjGTz3+GScccHfnhvrNC/U9sIMaqbfhaq5R9ZoWbMREtkjVMV3pI6cUqCu/0QtDiawEW5zQfOjAeoVv8K' +
      '6ezkMSfkTM9IGM/8zPSGZchklIry/i1XI8jWBsGa5Doshlo4uZ8nU6ZoJ9sEfy2lEDTx4FzUff/9skpr8o4bZ1npzohvxsWe' +
      '03HVv2QiVh8KtP3sfbVMH5+UI9lroA1cdkaA87FGlZQBzH+WDtEzrOStMHmWeBJJ91fz49gYkwA3kvXcGuFqANt2tkc42dHO' +
      'RjbkhTYP5grOi2yn+u8AS07hOEussljQm0QfX7iG894Y+mNzIXqktlWrMPRxfVRefvdQJ2IGKkz7qvBaTL4cKsQ7dK/CsWcM' +
      'TI+Q0JoGl5FEyZZIOzcftsRbMKN+1PwkhQ2wHIadHSUJ4yywplhqPpY6O+9ppP0NKPFh293MliEjDPUANcNExf3VdW3DBAkU' +
      'CPGNyZk5X7uPcM1tq58xyhQkaigq92+4uZ8UhrvHsCXDS5MtPTwZ0cPIpDGo+1m5PE7tKTcOP2lv4Z6AK0Ml0o5lTR6RPOKC' +
      '3lkeAKswrncLrNLayOZtLct53d9CeMMUlHDM0ZQ1eV9IhaCiqbqNuH3RilEwPacyC/xlGoyHyNvLiCytJJIG2MJt/LmCsXf8' +
      '1h6ePG0jX4tFJry2gq/NFMfGzNa6V2m8WtaKQW7YhDGQGSwYeoKr50vEOLcX6GhklfXxe7HIlrc29vInAEqvJZHTBJBXVuxd' +
      'DKAktR22doC8Er83JMmuPZHjf2hrDyxTMKLzUiMEt6DtdzVhdl4YWWPWZaesEHGWWJWtpxgoWpPc2uX+YuYAJyS5NXHs+djv' +
      'Ymy0D6WtmOGWeYDdaHEZBVcYpiGYKQ7AhDB9AUJwq5jhllk8OBe9czHDLXMPw61i+dWVjHIvMg6DqZG+66hE81BjDzFWQWuT' +
      '082si3IY6Wjn7Y7olBawJsBJjP38GIELu0Ssp4Vp3m+sU5LaOwYt1vFilFKuqzaUY13UKZU9xrqd+YpjFQ/OhpHIcZdYZYlA' +
      '/Ar1d91SKdOteAzIHnDxPn9C9ahgRKu2DgMtx910FKqkEpP9sZNPNGxxP+YtybSB8ZcCjpZ0yxpytEuD3z67J7JAdu+0zqN7' +
      'murFfmnhOqsIrhuNgUKJVXvBgaTri9Opn2KueLXHmMhr5MNZBbBCWqQygigEAnNrgbI+NTqx1JTkFn5X7SfstEoJWahpTro4' +
      'U/uDrbRWXOwL1GVEcY7WA+ALlHordIAOewd+D+Wo/aph09evsPjiPB92aPRXrcA3yuuxUlKv0bBS/Xfgmw9B+wgDkwalmetX' +
      'nJ6tqGFQFmV1m8bNEfYvezmaoXKOqQ+cn3Jq8YSG/bHYlfwpmW07m/qCSu6AXc0Wy9LDSTZ3mMuwNZyhM/WzEXWmZTpPfuAl' +
      '25IZyZ3O0FBbYZwTbmlpwc8MrOXlbbJBirXex/s6jTM4yMChvijZZKAOzplzKU4VQhimWEdXc9pyc+XwfGRxYHeORuY4TZwO' +
      'yEuzm7xANujYdmRN3nVtICt8yFvHpy9qHv1a5QeSe/h8cr+RB+2FHT70CZqkPCX72+VHRNlZjl2kRfLKx01DMJcz+G7mVeYT' +
      'D9nX/Y1rbXznq/izHPcn3v1izWD2yhvgDgDfytjWTh1ULxzznDHu6X9fgeWV',
  },
};
