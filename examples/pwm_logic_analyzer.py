# title: PWM on the logic analyzer
# description: Sets a square wave on SQ1 (wired to LA1) and measures its frequency and duty cycle with the logic analyzer, for a few settings.
# level: beginner
settings = [(1000, 25), (5000, 50), (20000, 75)]
rows = []
for freq, duty in settings:
    sqr1(freq, duty)
    measured = get_freq('LA1')
    period, high = DutyCycle('LA1')
    rows.append('set %d Hz %d %% -> measured %.1f Hz, duty %.1f %%' % (freq, duty, measured, high * 100))
print('\n'.join(rows))
button('Frequency on LA1', "get_freq('LA1')", 'display_number')
