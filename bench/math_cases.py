r"""The labelled math set: (category, predicted answer, gold, expected verdict).

Used by the tests (every case must come out as labelled) and by ``bench.math_accuracy``
(accuracy and speed against Math-Verify). Labels follow the rules documented in
:mod:`rewards.math.compare`: exact numbers compare exactly, the precision rule needs six
significant digits, tuples are ordered and sets are not, percent is stripped (28\% ≡ 28).

:data:`ANSWER_CASES` give the predicted *answer*; :func:`labelled` wraps each one in a
response using a rotating set of phrasings so extraction is exercised too.
:data:`RESPONSE_CASES` are whole responses that test extraction itself.
"""

from __future__ import annotations

from dataclasses import dataclass

Y, N = True, False

# fmt: off
ANSWER_CASES: list[tuple[str, str, str, bool]] = [
    # integers and separators
    ("integer", "42", "42", Y), ("integer", "-7", "-7", Y), ("integer", "+5", "5", Y),
    ("integer", "1,000", "1000", Y), ("integer", "1{,}000", "1000", Y), ("integer", r"11,\!111", "11111", Y),
    ("integer", "1,000,000", "10^6", Y), ("integer", "007", "7", Y), ("integer", "12", "21", N),
    ("integer", "10000", "10001", N), ("integer", "300", "3", N), ("integer", "-3", "3", N),
    ("integer", "1,001", "1000", N), ("integer", "100", "1,000", N), ("integer", r"1\,000", "1000", Y),
    # decimals and fractions
    ("fraction", "0.5", r"\frac{1}{2}", Y), ("fraction", r"\frac12", "0.5", Y), ("fraction", r"\dfrac{3}{4}", "0.75", Y),
    ("fraction", r"\tfrac{3}{4}", r"\frac34", Y), ("fraction", "3/4", r"\frac{3}{4}", Y), ("fraction", r"\frac{6}{8}", r"\frac{3}{4}", Y),
    ("fraction", r"-\frac{1}{3}", r"\frac{-1}{3}", Y), ("fraction", "0.25", "1/4", Y), ("fraction", "2.50", "2.5", Y),
    ("fraction", "0.333", r"\frac{1}{3}", N), ("fraction", "0.33", r"\frac13", N), ("fraction", r"\frac{1}{3}", "0.3333", N),
    ("fraction", "0.0000001", "0.0000002", N), ("fraction", r"\frac{1}{2^{99}}", r"\frac{1}{2^{98}}", N),
    ("fraction", r"\frac{2}{3}", r"\frac{3}{2}", N), ("fraction", "0.75", r"\frac{3}{5}", N), ("fraction", "0.3333333", r"\frac13", Y),
    ("fraction", "0.142857", r"\frac{1}{7}", Y), ("fraction", "0.14", r"\frac{1}{7}", N), ("fraction", "1.5", r"\frac{3}{2}", Y),
    ("fraction", "0.1", r"\frac{1}{10}", Y), ("fraction", "0.10000001", r"\frac{1}{10}", N), ("fraction", r"\frac{4}{2}", "2", Y),
    # mixed numbers
    ("mixed", r"2\frac12", r"\frac52", Y), ("mixed", r"2\frac{1}{2}", "2.5", Y), ("mixed", r"3\frac{2}{3}", r"\frac{11}{3}", Y),
    ("mixed", "2 2/3", "2", N), ("mixed", r"2\frac12", "2", N), ("mixed", r"2\frac12", "1", N), ("mixed", "2 1/2", r"\frac52", Y),
    # radicals
    ("radical", r"\sqrt{8}", r"2\sqrt{2}", Y), ("radical", r"2\sqrt2", r"\sqrt{8}", Y), ("radical", r"\sqrt{12}", r"2\sqrt{3}", Y),
    ("radical", r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", Y), ("radical", r"\sqrt[3]{27}", "3", Y), ("radical", "4.1231056256", r"\sqrt{17}", Y),
    ("radical", "4.12", r"\sqrt{17}", N), ("radical", "4.1231", r"\sqrt{17}", N), ("radical", r"\sqrt{3}", r"\sqrt{2}", N),
    ("radical", r"2\sqrt{3}", r"3\sqrt{2}", N), ("radical", r"\sqrt{2}+\sqrt{3}", r"\sqrt{5}", N), ("radical", "1.414214", r"\sqrt2", Y),
    ("radical", "1.414213", r"\sqrt2", Y), ("radical", "1.414215", r"\sqrt2", N), ("radical", r"3+2\sqrt{2}", r"(1+\sqrt{2})^2", Y),
    # constants: pi, e, i
    ("constant", r"\pi", r"\pi", Y), ("constant", r"2\pi", r"\pi \cdot 2", Y), ("constant", "3.14", r"\pi", N),
    ("constant", "3.14159", r"\pi", Y), ("constant", "3.141592653589793", r"\pi", Y), ("constant", r"\frac{\pi}{2}", r"\frac{1}{2}\pi", Y),
    ("constant", r"\pi/3", r"\frac{\pi}{3}", Y), ("constant", r"\pi/3", r"\frac{\pi}{6}", N), ("constant", "e^2", r"e^{2}", Y),
    ("constant", "e", "2.718", N), ("constant", "2.718282", "e", Y), ("constant", r"\pi", "3", N), ("constant", "22/7", r"\pi", N),
    ("constant", r"4\pi", r"12.566370614359172", Y), ("constant", r"\pi^2", r"\pi \cdot \pi", Y),
    # logs, binomials, factorials, trig
    ("function", r"\log_2 8", "3", Y), ("function", r"\ln(e^3)", "3", Y), ("function", r"\binom{5}{2}", "10", Y),
    ("function", r"\binom{6}{3}", "10", N), ("function", "5!", "120", Y), ("function", "4!", "120", N),
    ("function", r"\sin^2 x+\cos^2 x", "1", Y), ("function", r"\cos(\pi/3)", r"\frac12", Y), ("function", r"\sin(\pi/6)", r"\frac{\sqrt3}{2}", N),
    ("function", r"\log 100", r"2\log 10", Y), ("function", r"2\sin x\cos x", r"\sin 2x", Y), ("function", r"\tan x", r"\frac{\sin x}{\cos x}", Y),
    ("function", r"\log_3 9", "3", N), ("function", r"\frac{10!}{8!}", "90", Y), ("function", r"\sin x", r"\cos x", N),
    # algebraic expressions
    ("algebra", "2x", "x+x", Y), ("algebra", "(x+1)^2", "x^2+2x+1", Y), ("algebra", "x^2-1", "(x-1)(x+1)", Y),
    ("algebra", r"\frac{x^2-1}{x-1}", "x+1", Y), ("algebra", "2x+3", "3+2x", Y), ("algebra", "x^2+2x+1", "(x+1)^3", N),
    ("algebra", "2x", "x^2", N), ("algebra", "a+b", "b+a", Y), ("algebra", "a-b", "b-a", N), ("algebra", "3x+2y", "2y+3x", Y),
    ("algebra", "x^3", "x^2", N), ("algebra", r"\frac{1}{x}", "x^{-1}", Y), ("algebra", "2(x+3)", "2x+6", Y), ("algebra", "2x+6", "2x+5", N),
    ("algebra", "x(x+1)", "x^2+x", Y), ("algebra", "0.5x", r"\frac{x}{2}", Y), ("algebra", "xy", "yx", Y), ("algebra", "x+y", "xy", N),
    # equations
    ("equation", "2x-y+3=0", "y=2x+3", Y), ("equation", "y=2x+3", "y=2x+3", Y), ("equation", "y=3+2x", "y=2x+3", Y),
    ("equation", "x=3", "3", Y), ("equation", "3", "x=3", Y), ("equation", "k=1", "1", Y), ("equation", "x=4", "3", N),
    ("equation", "y=2x+4", "y=2x+3", N), ("equation", "y=-2x+3", "y=2x+3", N), ("equation", "x^2+y^2=1", "y^2+x^2=1", Y),
    ("equation", "2x^2+2y^2=2", "x^2+y^2=1", Y), ("equation", "x^2+y^2=4", "x^2+y^2=1", N), ("equation", "a=5", "5", Y),
    ("equation", "x = -2", "-2", Y), ("equation", "x=2", "-2", N), ("equation", "n = 12", "12", Y),
    # inequalities and intervals
    ("interval", r"[2,\infty)", r"x \geq 2", Y), ("interval", r"x\ge2", r"[2, \infty)", Y), ("interval", r"(2,\infty)", r"x>2", Y),
    ("interval", r"[2,\infty)", r"x>2", N), ("interval", r"(2,\infty)", r"x \geq 2", N), ("interval", r"(-\infty, 3)", "x<3", Y),
    ("interval", r"(-\infty, 3]", "x<3", N), ("interval", "[1,3]", r"1 \le x \le 3", Y), ("interval", "(1,3)", r"1 < x < 3", Y),
    ("interval", "[1,3)", r"1 \le x < 3", Y), ("interval", "(1,3]", r"1 \le x < 3", N), ("interval", "x < 2", "x > 2", N),
    ("interval", "x<2", "2>x", Y), ("interval", r"x \leq 5", r"x < 5", N), ("interval", r"(-\infty, \infty)", r"\mathbb{R}", Y),
    ("interval", "[0, 1]", "[0, 1]", Y), ("interval", "[0,1]", "[0,2]", N), ("interval", r"x \in [2, \infty)", r"x \ge 2", Y),
    ("interval", r"[\frac{1}{2}, 3)", "[0.5, 3)", Y), ("interval", r"x > -1", r"(-1, \infty)", Y),
    # unions
    ("union", r"(-\infty, 1) \cup (2, \infty)", r"(-\infty,1)\cup(2,\infty)", Y),
    ("union", r"(-\infty, 1] \cup (2, \infty)", r"(-\infty,1)\cup(2,\infty)", N),
    ("union", r"[1,2]\cup[3,4]", r"[1,2]\cup[3,4]", Y), ("union", r"[1,2]\cup[3,5]", r"[1,2]\cup[3,4]", N),
    ("union", r"(-\infty,0)\cup(0,\infty)", r"x \neq 0", Y), ("union", r"(-\infty, 1) \cup (2, \infty)", r"(1, 2)", N),
    # sets
    ("set", r"\{1,2,3\}", r"\{3,2,1\}", Y), ("set", r"\{1,2\}", r"\{1,2,3\}", N), ("set", r"\varnothing", r"\emptyset", Y),
    ("set", r"\emptyset", r"\{0\}", N), ("set", r"\{2\}", "2", Y), ("set", r"\{1, 2\}", "1, 2", Y), ("set", r"\{1,2\}", "(1,2)", N),
    ("set", r"\{a, b\}", r"\{b, a\}", Y), ("set", r"\{-1, 1\}", r"\{1\}", N), ("set", r"\{\}", r"\emptyset", Y),
    # several solutions
    ("solutions", "1, 2", r"x=1 \text{ or } x=2", Y), ("solutions", "x=1 or x=2", "1, 2", Y), ("solutions", "2, 1", "1, 2", Y),
    ("solutions", "x=1, x=2", "1,2", Y), ("solutions", "1", "1, 2", N), ("solutions", "1, 2, 3", "1, 2", N),
    ("solutions", "1, 3", "1, 2", N), ("solutions", r"-3, 3", r"\pm 3", Y), ("solutions", r"1 \text{ and } 2", "1, 2", Y),
    ("solutions", "x=2", "2, -2", N), ("solutions", r"\frac12, -1", r"-1, \frac{1}{2}", Y), ("solutions", "1; 2", "1, 2", Y),
    ("solutions", r"1, 2, \ldots, 10", "7", N), ("solutions", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10", "7", N), ("solutions", "6, 7", "7", N),
    # tuples (ordered)
    ("tuple", "(1,2)", "(1, 2)", Y), ("tuple", "(2,1)", "(1,2)", N), ("tuple", "(1,2,3)", "(1,2,3)", Y), ("tuple", "(1,3,2)", "(1,2,3)", N),
    ("tuple", r"(\frac12, 3)", "(0.5, 3)", Y), ("tuple", "(1, 2)", "(1, 2, 0)", N), ("tuple", "(3, -4)", "(3,-4)", Y),
    ("tuple", r"\left( 1, 2 \right)", "(1,2)", Y), ("tuple", "(0, 0)", "(0, 1)", N),
    # vectors and matrices
    ("matrix", r"\begin{pmatrix}1\\2\end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}", Y),
    ("matrix", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", Y),
    ("matrix", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&3\\2&4\end{pmatrix}", N),
    ("matrix", r"\begin{pmatrix}1\\2\end{pmatrix}", "(1,2)", Y), ("matrix", r"\begin{pmatrix}2\\1\end{pmatrix}", "(1,2)", N),
    ("matrix", r"\begin{pmatrix}1&2\end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}", N),
    ("matrix", r"\begin{pmatrix}\frac12\\1\end{pmatrix}", r"\begin{pmatrix}0.5\\1\end{pmatrix}", Y),
    ("matrix", r"\begin{array}{c}1\\2\end{array}", r"\begin{pmatrix}1\\2\end{pmatrix}", Y),
    # complex numbers
    ("complex", "3+4i", "4i+3", Y), ("complex", "3-4i", "3+4i", N), ("complex", "i^2", "-1", Y), ("complex", "2i", r"\sqrt{-4}", Y),
    ("complex", r"\frac{1+i}{2}", "0.5+0.5i", Y), ("complex", "1+i", "1-i", N), ("complex", "(1+i)^2", "2i", Y), ("complex", "i", "1", N),
    # percent
    ("percent", r"28\%", "28", Y), ("percent", "28", r"28\%", Y), ("percent", r"28\%", "0.28", N), ("percent", "28 percent", "28", Y),
    ("percent", r"12.5\%", "12.5", Y), ("percent", r"30\%", "3", N), ("percent", r"50\%", r"\frac12", N),
    # units, degrees, currency, text wrappers
    ("units", r"5 \text{ cm}", "5", Y), ("units", r"5\text{cm}^2", "5", Y), ("units", "12 meters", "12", Y), ("units", r"30^\circ", "30", Y),
    ("units", r"30^{\circ}", r"30", Y), ("units", r"45^\circ", "30", N), ("units", r"\$5", "5", Y), ("units", r"\$5.00", "5", Y),
    ("units", r"\frac{1}{2}\text{ cm}", "0.5", Y), ("units", "5 dollars", "5", Y), ("units", r"\text{5}", "5", Y), ("units", r"7 \text{ cm}", "5", N), ("units", r"\mbox{10 units}", "10", Y),
    ("units", r"5 \text{ cm}", r"5 \text{ m}", Y), ("units", "90 degrees", "90", Y), ("units", r"\$12.50", "12.5", Y), ("units", "3 days", "4", N),
    # scientific notation
    ("scientific", r"1.5 \times 10^{3}", "1500", Y), ("scientific", "1.5e3", "1500", Y), ("scientific", r"1.5\cdot 10^3", "1500", Y),
    ("scientific", r"1.5 \times 10^{-3}", "0.0015", Y), ("scientific", r"1.5 \times 10^{3}", "150", N), ("scientific", r"10^{5}", "100000", Y),
    ("scientific", r"3 \times 10^8", "300000000", Y), ("scientific", r"2 \times 10^{-2}", "0.2", N), ("scientific", "6.02e23", r"6.02 \times 10^{23}", Y),
    # bases
    ("base", "1010_2", "10", Y), ("base", "1010_{2}", "1010_2", Y), ("base", "1010_2", "1010", N), ("base", "FF_{16}", "255", Y),
    ("base", "12_3", "5", Y), ("base", "12_3", "6", N), ("base", "777_8", "511", Y),
    # text answers and choices
    ("text", "(B)", "B", Y), ("text", "B", "(B)", Y), ("text", r"\text{(C)}", "C", Y), ("text", r"\textbf{(B)}", "B", Y),
    ("text", "(A)", "B", N), ("text", "C", "B", N), ("text", r"\text{Monday}", "Monday", Y), ("text", "monday", "Monday", Y),
    ("text", "Tuesday", "Monday", N), ("text", r"\text{no solution}", "no solution", Y), ("text", "yes", "no", N),
    ("text", r"\text{even}", r"\text{odd}", N), ("text", "odd", "odd", Y), ("text", "E", "B", N),
    # plus-minus
    ("pm", r"\pm 3", "3, -3", Y), ("pm", r"\pm 3", "3", N), ("pm", r"1 \pm \sqrt{2}", r"1+\sqrt2, 1-\sqrt2", Y),
    ("pm", r"1 \pm \sqrt{2}", r"1+\sqrt2", N), ("pm", r"\pm 2", r"\pm 3", N),
    # hard negatives on exactness
    ("exactness", "0.0000001", "0.0000002", N), ("exactness", "10001", "10000", N), ("exactness", "300", "3", N),
    ("exactness", "3.14", r"\pi", N), ("exactness", r"\frac{1}{2^{98}}", r"\frac{1}{2^{99}}", N), ("exactness", "1.0001", "1", N),
    ("exactness", "0.999", "1", N), ("exactness", "0.9999999", "1", N), ("exactness", "1e-9", "0", N), ("exactness", "2.000001", "2", N),
    ("exactness", "100", "1", N), ("exactness", "0.01", "1", N), ("exactness", "1.41", r"\sqrt2", N), ("exactness", "2.7", "e", N),
    ("exactness", "123456789", "123456788", N), ("exactness", "1.00", "1", Y), ("exactness", "2^{10}", "1024", Y), ("exactness", "2^{10}", "1023", N),
]

# Forms real data writes (MATH, NuminaMath, model outputs) that issue 9 found marked wrong,
# each next to near misses that must stay wrong.
FORM_CASES: list[tuple[str, str, str, bool]] = [
    ("latex_thousands", r"12,\!345", "12345", Y), ("latex_thousands", "12{,}345", "12345", Y),
    ("latex_thousands", r"12\,345", "12345", Y), ("latex_thousands", r"11,\! 111,\! 100", "11111100", Y),
    ("latex_thousands", r"12,\!346", "12345", N), ("latex_thousands", "12{,}345", "1234", N),
    ("latex_thousands", "1,2345", "12345", N), ("latex_thousands", "(12,102)", "12102", N),
    ("text_wrappers", r"5\textnormal{ cm}", "5", Y), ("text_wrappers", r"5\mathrm{ cm}", "5", Y),
    ("text_wrappers", r"\textbf{5}", "5", Y), ("text_wrappers", r"5 \mbox{ m}", "5", Y),
    ("text_wrappers", r"\text{E}", "E", Y), ("text_wrappers", r"\textnormal{(D)}", "D", Y),
    ("text_wrappers", r"5\textnormal{ million}", "5", N), ("text_wrappers", r"\text{E}", "F", N),
    ("text_wrappers", r"5\mathrm{ squared}", "5", N),
    ("relations", r"x \ge 3", r"x \geq 3", Y), ("relations", "x >= 3", r"x \geq 3", Y),
    ("relations", r"x \lt 3", "x < 3", Y), ("relations", r"x \gt 3", "x > 3", Y),
    ("relations", r"5 \geq x", r"x \leq 5", Y), ("relations", r"x \geqslant 1", "x >= 1", Y),
    ("relations", r"5 \geq x", r"x \geq 5", N), ("relations", "x > 3", r"x \geq 3", N),
    ("relations", r"x \lt 3", r"x \leq 3", N), ("relations", r"x \le 3", "x < 3", N),
    ("relations", r"x < -1 \text{ or } x > 2", r"(-\infty,-1) \cup (2,\infty)", Y),
    ("relations", r"x \ge 2 \text{ and } x < 5", "[2,5)", Y),
    ("relations", r"x < -1 \text{ or } x > 3", r"(-\infty,-1) \cup (2,\infty)", N),
    ("relations", r"x \ge 2 \text{ or } x < 5", "[2,5)", N),
    ("set_algebra", r"\{1,3\} \cup \{2,4\}", r"\{1,2,3,4\}", Y),
    ("set_algebra", r"\{1,2,3\} \cap \{2,3,4\}", r"\{2,3\}", Y),
    ("set_algebra", r"\{1,2,3\} \setminus \{2\}", r"\{1,3\}", Y),
    ("set_algebra", r"[1,3] \cup [2,5]", "[1,5]", Y), ("set_algebra", r"[1,3] \cap [2,5]", "[2,3]", Y),
    ("set_algebra", r"\{1,3\} \cup \{2,4\}", r"\{1,2,3\}", N),
    ("set_algebra", r"[1,3] \cup [2,5]", "[1,5)", N),
    ("set_algebra", r"\{1,2,3\} \cap \{2,3,4\}", r"\{2\}", N),
    ("set_algebra", r"\{1,2,3\} \setminus \{2\}", r"\{1,2,3\}", N),
    ("matrix_entries", r"\begin{pmatrix}0.02\\0.5\end{pmatrix}", r"\begin{pmatrix}\frac{1}{50}\\\frac12\end{pmatrix}", Y),
    ("matrix_entries", r"\left[\begin{array}{cc}1&0.5\\0&1\end{array}\right]", r"\begin{bmatrix}1&\frac12\\0&1\end{bmatrix}", Y),
    ("matrix_entries", r"\begin{pmatrix} \frac12 \\ -3 \end{pmatrix}", r"\begin{pmatrix} 0.5 \\ -3 \end{pmatrix}", Y),
    ("matrix_entries", r"\begin{pmatrix}0.03\\0.5\end{pmatrix}", r"\begin{pmatrix}\frac{1}{50}\\\frac12\end{pmatrix}", N),
    ("matrix_entries", r"\begin{pmatrix}0.33\\0.2\end{pmatrix}", r"\begin{pmatrix}\frac{1}{3}\\\frac{1}{5}\end{pmatrix}", N),
    ("matrix_entries", r"\begin{pmatrix} -3 \\ \frac12 \end{pmatrix}", r"\begin{pmatrix} 0.5 \\ -3 \end{pmatrix}", N),
    ("labelled_gold", "(3,2)", "(p,q)=(3,2)", Y), ("labelled_gold", "4, 5", "AB=4, CD=5", Y),
    ("labelled_gold", r"\frac{1}{\sqrt6}", r"\frac{NO}{BO}=\frac{1}{\sqrt{6}}", Y), ("labelled_gold", "1", "|AB|=1", Y),
    ("labelled_gold", "(2,3)", "(p,q)=(3,2)", N), ("labelled_gold", "5, 4", "AB=4, CD=5", N),
    ("labelled_gold", "2", "|AB|=1", N), ("labelled_gold", "y = 2, x = 3", "(2, 3)", N),
    ("structure", "2^{3^{4^{5}}}", "2^{3^{4^{5}}}", Y), ("structure", "((((((((((x+1))))))))))", "x+1", Y),
    ("structure", "((((((((((x+1))))))))))", "x+2", N), ("structure", "a^{b^{c^{d}}}", "a^{b^{c^{d}}}", Y),
    ("structure", r"\sqrt{\sqrt{\sqrt{256}}}", "2", Y), ("structure", r"\sqrt{\sqrt{\sqrt{256}}}", "4", N), ("structure", "((((((((((x+1))))))))))", "((((((((((x+1))))))))))", Y),
    ("minus_sign", "−5", "-5", Y), ("minus_sign", "−5", "5", N), ("minus_sign", r"−\frac{1}{2}", "-0.5", Y),
    ("minus_sign", "x − 1", "x-1", Y), ("minus_sign", "x − 1", "x+1", N), ("minus_sign", "(−1, 2)", "(-1, 2)", Y),
    ("repeating", r"0.\overline{3}", r"\frac13", Y), ("repeating", r"0.1\overline{6}", r"\frac16", Y),
    ("repeating", r"0.\overline{3}", "0.3", N), ("repeating", r"0.\overline{6}", r"\frac13", N),
    ("repeating", r"1.\overline{09}", r"\frac{12}{11}", Y), ("repeating", r"0.\overline{142857}", r"\frac{1}{7}", Y),
    ("membership", r"x \in [2,5)", "[2,5)", Y), ("membership", r"x \in [2,5)", "[2,5]", N),
    ("membership", r"x \in \{1, 2\}", r"\{2, 1\}", Y), ("membership", r"x \in (2,5)", "[2,5)", N),
    ("membership", r"x \in (-\infty, 3]", r"x \leq 3", Y),
    ("chains", "x = 5+5+1 = 11", "11", Y), ("chains", r"x = \frac13 \approx 0.33", r"\frac13", Y),
    ("chains", "x = 5+5+1 = 11", "12", N), ("chains", r"x \approx 0.33", r"\frac13", N),
    ("chains", "z = 3+3 = 2", "z = 1 + 1 = 2", Y),
]

RESPONSE_CASES: list[tuple[str, str, str, bool]] = [
    ("extraction", r"First \boxed{1} ... wait, that is wrong. The answer is \boxed{2}.", "2", Y),
    ("extraction", r"First \boxed{1} ... wait, that is wrong. The answer is \boxed{2}.", "1", N),
    ("extraction", r"\boxed{1} \boxed{2}", r"\{1, 2\}", N),
    ("extraction", r"The answer is $5$. Check: $5+1=6$.", "5", Y),
    ("extraction", r"The answer is $5$. Check: $5+1=6$.", "6", N),
    ("extraction", r"So we get \boxed{\frac{\sqrt{3}}{2}}.", r"\frac{\sqrt3}{2}", Y),
    ("extraction", r"\fbox{12}", "12", Y),
    ("extraction", r"\boxed 7", "7", Y),
    ("extraction", "Final Answer: 42", "42", Y),
    ("extraction", "The final answer is 42. I hope it is correct.", "42", Y),
    ("extraction", r"Answer: \(\frac{3}{4}\)", "0.75", Y),
    ("extraction", r"Therefore the answer is \[x = 3\]", "3", Y),
    ("extraction", "So the result is **17**.", "17", Y),
    ("extraction", "**Step 1:** add 2 and 3 to get 5.", "5", Y),
    ("extraction", "We compute 6 * 7 = 42", "42", Y),
    ("extraction", "We compute 6 * 7 = 42", "7", N),
    ("extraction", "I do not know.", "3", N),
    ("extraction", r"\boxed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}", "7", N),
    ("extraction", r"\boxed{1, 2, \ldots, 10}", "7", N),
    ("extraction", r"The answer is \boxed{7} or \boxed{8}", "7", N),
    ("extraction", r"\boxed{\boxed{5}}", "5", Y),
    ("extraction", r"\boxed{\{1,2\}}", r"\{1,2\}", Y),
    ("extraction", r"the answer is $\boxed{x^2}$ since", "x^2", Y),
    # A final answer stated after the last box decides (intermediate results are often
    # boxed); this case was labelled "the box wins" before issue 9.
    ("extraction", r"\boxed{5} is wrong, so the final answer is 6", "6", Y),
    ("extraction", r"\boxed{5} is wrong, so the final answer is 6", "5", N),
    ("extraction", "x" * 5000 + r" \boxed{9}", "9", Y),
    ("extraction", r"\boxed{3", "3", Y),  # unbalanced box: falls back to the last number
    # forms from issue 9
    ("final_answer", "**Step 1:** we get **12**.\n**Step 2:** so **9**.\nFinal Answer: **7**", "7", Y),
    ("final_answer", "**Step 1:** we get **12**.\n**Step 2:** so **9**.\nFinal Answer: **7**", "12", N),
    ("final_answer", "Final Answer: The largest $n$ is 34.", "34", Y),
    ("final_answer", "Final Answer: The largest $n$ is 34.", "35", N),
    ("final_answer", "**Answer: 5**", "5", Y), ("final_answer", "**Final Answer**: 5", "5", Y),
    ("final_answer", "**Answer: 5**", "6", N),
    ("final_answer", "The final answer is:\n\n\\[ x = 5 \\]", "5", Y),
    ("final_answer", "The final answer is given below:\n\\[ 5 \\]", "5", Y),
    ("final_answer", "The final answer is given below:\n\\[ 5 \\]", "4", N),
    ("final_answer", r"We box steps: \boxed{200}, \boxed{255}. Final Answer: The final answer is $10,455$.", "10455", Y),
    ("final_answer", r"We box steps: \boxed{200}, \boxed{255}. Final Answer: The final answer is $10,455$.", "255", N),
    ("several_boxes", r"\boxed{(2,2)} and \boxed{(6,2)}", "(2,2), (6,2)", Y),
    ("several_boxes", r"$$\boxed{k = 45} \quad \text{and} \quad \boxed{n = 2}$$", "k = 45, n = 2", Y),
    ("several_boxes", r"\boxed{(2,2)} or \boxed{(6,2)}", "(2,2), (6,2)", N),
    ("several_boxes", r"\boxed{(2,2)} and \boxed{(6,2)}", "(2,2)", N),
    ("several_boxes", r"\boxed{1} or \boxed{2}", "2", N),
    ("last_number", r"so $x = \frac{1+\sqrt{5}}{2}$", "2", N),
    ("last_number", r"so $x = \frac{1+\sqrt{5}}{2}$", r"\frac{1+\sqrt5}{2}", Y),
    ("last_number", "The value is 1,000.99 m².", "1000.99", Y), ("last_number", "It is definitely not 5.", "5", N),
    ("last_number", "Therefore $x \\geq 5$ is the solution.", "x \\geq 5", Y),
    ("last_number", "Therefore $x \\geq 5$ is wrong.", "x \\geq 5", N),
]
# fmt: on

# Whole responses whose prompt matters: restating the question is not an answer.
PROMPT_CASES: list[tuple[str, str, str, str, bool]] = [
    ("restated", "Compute $3+4$.", r"\boxed{3+4}", "7", N),
    ("restated", "Compute $3+4$.", r"\boxed{7}", "7", Y),
    ("restated", "What is 17 + 25?", r"\boxed{17 + 25}", "42", N),
    ("restated", "Simplify $\\frac{2}{4}$.", r"\boxed{\frac{2}{4}}", r"\frac12", N),
    ("restated", "Simplify $\\frac{2}{4}$.", r"\boxed{\frac{1}{2}}", r"\frac12", Y),
    ("restated", "Expand $(x+1)^2$.", r"\boxed{x^2+2x+1}", "x^2+2x+1", Y),
]

_TEMPLATES = (
    "We simplify step by step.\nThus the answer is \\boxed{{{answer}}}.",
    "The final answer is ${answer}$.",
    "Working it out carefully gives \\boxed{{{answer}}}",
    "Answer: \\({answer}\\)",
    "So, putting it together: $\\boxed{{{answer}}}$. I hope it is correct.",
)


@dataclass(frozen=True)
class Case:
    category: str
    response: str
    answer: str
    expected: bool
    prompt: str | None = None


def labelled() -> list[Case]:
    """Every labelled case as a whole response."""
    cases = [
        Case(category, _TEMPLATES[i % len(_TEMPLATES)].format(answer=pred), gold, expected)
        for i, (category, pred, gold, expected) in enumerate(ANSWER_CASES)
    ]
    cases += [
        Case(category, _TEMPLATES[(i + 1) % len(_TEMPLATES)].format(answer=pred), gold, expected)
        for i, (category, pred, gold, expected) in enumerate(FORM_CASES)
    ]
    cases += [Case(*c) for c in RESPONSE_CASES]
    cases += [Case(cat, resp, gold, exp, prompt) for cat, prompt, resp, gold, exp in PROMPT_CASES]
    return cases
