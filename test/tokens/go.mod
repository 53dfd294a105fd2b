module authlog/test/tokens

go 1.21
